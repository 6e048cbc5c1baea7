"""The public pages: the buy button, the confirmation page, paying, and My apps."""

import pytest
from django.urls import reverse

from catalog.tests.factories import AppFactory
from commerce.models import Purchase
from commerce.tests.factories import member_with

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(client):
    member = member_with(100)
    client.force_login(member)
    return member


def test_the_app_page_offers_to_buy_at_the_price(client, member):
    app = AppFactory(credit_price=30)
    response = client.get(reverse("app-detail", args=[app.slug]))
    assert reverse("buy-app", args=[app.slug]) in response.text and "Buy for 30 credits" in response.text


def test_the_confirmation_shows_the_price_and_the_balance_after(client, member):
    app = AppFactory(credit_price=30)
    response = client.get(reverse("buy-app", args=[app.slug]))
    assert response.context["balance_after"] == 70
    assert 'id="balance-after">70 points' in response.text and "Pay 30 credits" in response.text


def test_the_confirmation_says_when_the_balance_is_too_low(client, member):
    response = client.get(reverse("buy-app", args=[AppFactory(credit_price=300).slug]))
    assert "too low" in response.text and "confirm-purchase" not in response.text


def test_confirming_buys_once_and_lands_on_my_apps(client, member):
    app = AppFactory(credit_price=30)
    form = {"idempotency_key": "abc", "expected_price": "30"}
    response = client.post(reverse("buy-app-confirm", args=[app.slug]), form, follow=True)
    client.post(reverse("buy-app-confirm", args=[app.slug]), form)  # a double submit replays
    assert response.redirect_chain[-1][0] == reverse("my-apps")
    assert app.name in response.text and "Owned" in response.text
    member.refresh_from_db()
    assert (Purchase.objects.count(), member.points_balance) == (1, 70)


def test_a_refused_purchase_says_why_on_the_app_page(client, member):
    app = AppFactory(credit_price=30)
    form = {"idempotency_key": "abc", "expected_price": "25"}
    response = client.post(reverse("buy-app-confirm", args=[app.slug]), form, follow=True)
    assert "now 30 credits" in response.text and Purchase.objects.count() == 0


def test_an_owned_app_says_so_instead_of_offering_to_buy(client, member):
    app = AppFactory(credit_price=30)
    client.post(reverse("buy-app-confirm", args=[app.slug]), {"idempotency_key": "a", "expected_price": "30"})
    response = client.get(reverse("app-detail", args=[app.slug]))
    assert "You own this app" in response.text and "Buy for" not in response.text


def test_buying_needs_a_login(client):
    app = AppFactory(credit_price=30)
    response = client.get(reverse("buy-app", args=[app.slug]))
    assert response.status_code == 302 and reverse("login") in response.url


def test_my_apps_shows_only_my_purchases(client, member):
    other = member_with(100)
    app = AppFactory(credit_price=10, name="Theirs")
    Purchase.objects.create(member=other, app=app, price_paid=0, idempotency_key="x", request_hash="x")
    response = client.get(reverse("my-apps"))
    assert "Theirs" not in response.text and "not bought any apps" in response.text
