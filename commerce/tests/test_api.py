"""POST /api/apps/{slug}/purchase/: the purchase service behind the API's one error shape."""

import pytest
from rest_framework.test import APIClient

from backoffice.tests.factories import UserFactory
from catalog.tests.factories import AppFactory
from commerce.models import Purchase
from commerce.tests.factories import member_with

pytestmark = pytest.mark.django_db


@pytest.fixture
def member():
    return member_with(100)


@pytest.fixture
def api(member):
    client = APIClient()
    client.force_authenticate(member)
    return client


def purchase(api, slug, key="key-1", body=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return api.post(f"/api/apps/{slug}/purchase/", body or {}, format="json", **headers)


def error_code(response):
    return response.json()["error"]["code"]


def test_a_purchase_answers_201_then_200_on_a_replay(api):
    app = AppFactory(credit_price=30)
    first = purchase(api, app.slug)
    assert first.status_code == 201 and first["Idempotent-Replayed"] == "false"
    assert first.json()["app"] == app.slug and first.json()["price_paid"] == 30
    again = purchase(api, app.slug)
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]


@pytest.mark.parametrize(
    ("setup", "status", "code"),
    [
        (lambda api, app: purchase(api, app.slug, key="other"), 409, "already_purchased"),
        (lambda api, app: purchase(api, AppFactory().slug, key="key-1"), 409, "idempotency_key_reused"),
    ],
)
def test_conflicts_use_the_error_shape(api, setup, status, code):
    app = AppFactory(credit_price=30)
    purchase(api, app.slug)
    response = setup(api, app)
    assert response.status_code == status
    assert set(response.json()["error"]) == {"code", "message", "details"} and error_code(response) == code


def test_an_insufficient_balance_is_409_and_writes_nothing(api):
    response = purchase(api, AppFactory(credit_price=500).slug)
    assert (response.status_code, error_code(response)) == (409, "insufficient_points")
    assert response.json()["error"]["details"] == {"balance": 100, "price": 500}
    assert Purchase.objects.count() == 0


def test_an_inactive_app_is_422(api):
    response = purchase(api, AppFactory(active=False).slug)
    assert (response.status_code, error_code(response)) == (422, "app_inactive")


def test_an_unverified_phone_is_403():
    client = APIClient()
    client.force_authenticate(UserFactory())
    response = purchase(client, AppFactory(credit_price=0).slug)
    assert (response.status_code, error_code(response)) == (403, "phone_not_verified")


def test_a_missing_idempotency_key_is_400(api):
    response = purchase(api, AppFactory().slug, key=None)
    assert (response.status_code, error_code(response)) == (400, "idempotency_key_required")


def test_a_changed_price_is_409(api):
    response = purchase(api, AppFactory(credit_price=30).slug, body={"expected_price": 20})
    assert (response.status_code, error_code(response)) == (409, "price_changed")


@pytest.mark.parametrize("body", [{"expected_price": -1}, {"expected_price": "thirty"}, {"expected_price": None}])
def test_a_bad_expected_price_is_400(api, body):
    response = purchase(api, AppFactory(credit_price=30).slug, body=body)
    assert (response.status_code, error_code(response)) == (400, "invalid")
    assert Purchase.objects.count() == 0


def test_an_unknown_app_is_404(api):
    response = purchase(api, "no-such-app")
    assert (response.status_code, error_code(response)) == (404, "not_found")


def test_anonymous_requests_are_refused():
    response = purchase(APIClient(), AppFactory().slug)
    assert response.status_code in (401, 403)
    assert Purchase.objects.count() == 0
