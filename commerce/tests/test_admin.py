"""Staff side of purchases: the listing with filters and CSV export, and the admins' refund form."""

import pytest
from django.urls import reverse

from backoffice.tests.factories import admin, marketer, moderator
from catalog.tests.factories import AppFactory
from commerce.purchases import buy_app
from commerce.tests.factories import member_with, next_key
from moderation.models import RewardEntry

pytestmark = pytest.mark.django_db


def bought(points=100, price=30, **app):
    member = member_with(points)
    purchase = buy_app(member=member, app=AppFactory(credit_price=price, **app), idempotency_key=next_key()).purchase
    return purchase


def test_the_listing_filters_by_app_and_member(client):
    first, second = bought(name="Alpha"), bought(name="Beta")
    client.force_login(admin())
    by_app = client.get(reverse("purchases:index"), {"app": first.app_id})
    assert list(by_app.context["object_list"]) == [first]
    by_member = client.get(reverse("purchases:index"), {"member": second.member.email})
    assert list(by_member.context["object_list"]) == [second]


def test_the_listing_exports_csv(client):
    purchase = bought(name="Alpha")
    client.force_login(admin())
    response = client.get(reverse("purchases:index"), {"export": "csv"})
    body = b"".join(response.streaming_content).decode() if response.streaming else response.text
    assert response.status_code == 200 and "Alpha" in body and purchase.member.email in body


def test_marketers_see_purchases_but_cannot_refund(client):
    purchase = bought()
    client.force_login(marketer())
    assert client.get(reverse("purchases:index")).status_code == 200
    response = client.post(reverse("commerce_refund", args=[purchase.pk]), {"reason": "no"})
    assert response.status_code in (302, 403)
    purchase.refresh_from_db()
    assert not purchase.refunded


def test_moderators_do_not_see_purchases(client):
    client.force_login(moderator())
    assert client.get(reverse("purchases:index")).status_code in (302, 403)


def test_an_admin_refunds_with_a_reason(client):
    purchase = bought()
    staff = admin()
    client.force_login(staff)
    assert "Refund" in client.get(reverse("purchases:inspect", args=[purchase.pk])).text
    response = client.post(reverse("commerce_refund", args=[purchase.pk]), {"reason": "Charged by mistake"})
    assert response.status_code == 302
    purchase.refresh_from_db()
    assert (purchase.refunded_by, purchase.refund_reason) == (staff, "Charged by mistake")
    again = client.post(reverse("commerce_refund", args=[purchase.pk]), {"reason": "again"}, follow=True)
    assert "already refunded" in again.text
    assert RewardEntry.objects.filter(kind=RewardEntry.Kind.REFUND).count() == 1


def test_a_refund_without_a_reason_changes_nothing(client):
    purchase = bought()
    client.force_login(admin())
    response = client.post(reverse("commerce_refund", args=[purchase.pk]), {"reason": ""})
    assert response.status_code == 200 and response.context["form"].errors
    purchase.refresh_from_db()
    assert not purchase.refunded
