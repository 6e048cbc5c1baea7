"""Data API v1: scopes, fields, and incremental sync through signed cursors."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from backoffice.tests.factories import UserFactory, admin
from catalog.models import App
from catalog.tests.factories import AppFactory
from commerce.purchases import buy_app, refund_purchase
from commerce.tests.factories import member_with, next_key
from integrations.tests.helpers import authorized

pytestmark = pytest.mark.django_db


def pull(http, url, **params):
    """Every page from `url` (following `next`), returning the rows and the cursor to resume from."""
    rows, response = [], http.get(url, params)
    while True:
        assert response.status_code == 200, response.content
        body = response.json()
        rows += body["results"]
        if not body["next"]:
            return rows, body["next_cursor"]
        response = http.get(body["next"])


def test_each_endpoint_needs_its_scope():
    http, _ = authorized(scopes=["apps:read"])
    assert http.get("/api/v1/apps/").status_code == 200
    for url in ("/api/v1/purchases/", "/api/v1/users/", "/api/v1/ledger/"):
        response = http.get(url)
        assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"


def test_a_session_or_no_token_gets_nothing():
    anonymous = APIClient()
    assert anonymous.get("/api/v1/apps/").status_code == 401
    staff = APIClient()
    staff.force_login(admin())
    assert staff.get("/api/v1/apps/").status_code in (401, 403)


def test_users_carry_no_secrets_and_email_only_with_its_scope():
    UserFactory(email="someone@example.test")
    plain, _ = authorized(scopes=["users:read"])
    row = plain.get("/api/v1/users/").json()["results"][0]
    assert not {"email", "password", "referral_code", "phone"} & set(row)
    with_email, _ = authorized(scopes=["users:read", "users:email"])
    emails = [r["email"] for r in with_email.get("/api/v1/users/").json()["results"]]
    assert "someone@example.test" in emails


def test_pages_follow_each_other_without_gaps_or_repeats():
    AppFactory.create_batch(7)
    http, _ = authorized()
    rows, _ = pull(http, "/api/v1/apps/", page_size=3)
    assert sorted(r["id"] for r in rows) == sorted(App.objects.values_list("id", flat=True))
    assert len(rows) == len({r["id"] for r in rows}) == 7


def test_resuming_from_the_last_cursor_returns_only_what_was_written_since():
    member = member_with(1000)
    first = [
        buy_app(member=member, app=AppFactory(credit_price=5), idempotency_key=next_key()).purchase for _ in range(3)
    ]
    http, _ = authorized()
    rows, cursor = pull(http, "/api/v1/purchases/", page_size=2)
    assert [r["id"] for r in rows] == [p.pk for p in first]
    later = buy_app(member=member, app=AppFactory(credit_price=5), idempotency_key=next_key()).purchase
    refund_purchase(purchase=first[0], actor=admin(), reason="test")
    rows, _ = pull(http, "/api/v1/purchases/", cursor=cursor, page_size=2)
    assert [r["id"] for r in rows] == [later.pk, first[0].pk]  # the refund rewrote the first purchase
    assert rows[1]["refunded_at"] is not None


def test_rows_inside_the_sync_lag_are_held_back(settings):
    settings.DATA_API_SYNC_LAG_SECONDS = 60
    AppFactory()
    http, _ = authorized()
    body = http.get("/api/v1/apps/").json()
    assert body["results"] == [] and body["next"] is None


def test_updated_since_filters_and_must_be_a_time():
    old, new = AppFactory(), AppFactory()
    App.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=2))
    http, _ = authorized()
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert [r["id"] for r in http.get("/api/v1/apps/", {"updated_since": since}).json()["results"]] == [new.pk]
    for bad in ("yesterday", "2026-13-40T00:00:00Z"):
        response = http.get("/api/v1/apps/", {"updated_since": bad})
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid"


def test_the_ledger_is_paged_by_creation():
    member_with(10)
    http, _ = authorized()
    rows, _ = pull(http, "/api/v1/ledger/", created_since=(timezone.now() - timedelta(hours=1)).isoformat())
    assert [(r["kind"], r["amount"]) for r in rows] == [("adjust", 10)]


@pytest.mark.parametrize("mutate", [lambda c: c[:-2] + ("AA" if not c.endswith("AA") else "BB"), lambda c: "x" + c])
def test_a_tampered_cursor_is_a_400_in_the_error_shape(mutate):
    AppFactory.create_batch(3)
    http, _ = authorized()
    cursor = http.get("/api/v1/apps/", {"page_size": 1}).json()["next_cursor"]
    response = http.get("/api/v1/apps/", {"cursor": mutate(cursor)})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_cursor"


def test_a_cursor_of_another_endpoint_is_refused():
    member = member_with(10)
    buy_app(member=member, app=AppFactory(credit_price=5), idempotency_key=next_key())
    http, _ = authorized()
    for other in ("/api/v1/ledger/", "/api/v1/purchases/"):
        cursor = http.get(other).json()["next_cursor"]
        assert http.get("/api/v1/apps/", {"cursor": cursor}).status_code == 400


@pytest.mark.parametrize("size", ["0", "1001", "ten"])
def test_a_bad_page_size_is_a_400(size):
    http, _ = authorized()
    assert http.get("/api/v1/apps/", {"page_size": size}).status_code == 400
