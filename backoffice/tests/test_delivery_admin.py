"""Admins see every delivery under Deliveries, filter them, and send a failed one again."""

import pytest
from django.core import mail
from django.urls import reverse

from backoffice.models import Delivery
from backoffice.tests.factories import email_delivery, moderator

pytestmark = pytest.mark.django_db


def test_admins_see_deliveries_with_their_last_error_and_a_send_again_button(as_admin):
    failed = email_delivery()
    body = as_admin.get(reverse("deliveries:index")).content.decode()
    assert "member@example.test" in body and "Connection refused" in body
    assert reverse("deliveries:retry", args=[failed.pk]) in body


def test_deliveries_filter_by_status(as_admin):
    email_delivery(to="failed@example.test")
    email_delivery(to="sent@example.test", status=Delivery.Status.SENT, last_error="")
    body = as_admin.get(reverse("deliveries:index"), {"status": "failed"}).content.decode()
    assert "failed@example.test" in body and "sent@example.test" not in body


def test_a_sent_delivery_has_no_send_again_button(as_admin):
    sent = email_delivery(status=Delivery.Status.SENT, last_error="")
    assert reverse("deliveries:retry", args=[sent.pk]) not in as_admin.get(reverse("deliveries:index")).content.decode()


def test_send_again_asks_for_confirmation_then_sends(as_admin):
    failed = email_delivery()
    assert "Send again" in as_admin.get(reverse("deliveries:retry", args=[failed.pk])).content.decode()
    assert mail.outbox == []
    response = as_admin.post(reverse("deliveries:retry", args=[failed.pk]))
    assert response.status_code == 302
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (Delivery.Status.SENT, 6)
    assert [m.subject for m in mail.outbox] == ["Your proof was approved"]


def test_an_sms_body_is_not_shown_to_staff(as_admin):
    sms = email_delivery(channel="sms", to="+15550001111", subject="", message={"body": "Your code is 123456"})
    assert "123456" not in as_admin.get(reverse("deliveries:inspect", args=[sms.pk])).content.decode()


def test_moderators_cannot_see_or_retry_deliveries(client):
    failed = email_delivery()
    client.force_login(moderator())
    assert client.get(reverse("deliveries:index")).status_code in (302, 403)
    assert client.post(reverse("deliveries:retry", args=[failed.pk])).status_code in (302, 403)
    assert Delivery.objects.get().status == Delivery.Status.FAILED
