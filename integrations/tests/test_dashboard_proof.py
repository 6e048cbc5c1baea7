"""Proof the data API serves a separate dashboard service.

This test plays that service: it gets a token with its client credentials, pulls every v1 endpoint
incrementally in small pages while purchases are being written by another thread, receives webhooks on a
local server, and checks that its own totals (apps created, credits spent on apps, top-selling apps) equal
the product's dashboard selectors for the same range.
"""

import threading
import time
from collections import Counter

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from catalog.models import App
from catalog.services import save_app
from catalog.tests.factories import CategoryFactory
from commerce.purchases import buy_app
from commerce.tests.factories import member_with, next_key
from integrations.models import WebhookEndpoint
from integrations.tests.helpers import bearer, new_client, token_response
from integrations.tests.receiver import HOOK, webhook_receiver
from reporting import selectors as reporting

ENDPOINTS = ("/api/v1/apps/", "/api/v1/purchases/", "/api/v1/users/", "/api/v1/ledger/")
LAG = 1.0


class DashboardService:
    """What the separate service keeps: every row by id (upserted), and the cursor of each endpoint."""

    def __init__(self, http):
        self.http, self.rows, self.cursors, self.pages = http, {url: {} for url in ENDPOINTS}, {}, 0

    def sync(self, url):
        params = {"page_size": 3}
        if self.cursors.get(url):
            params["cursor"] = self.cursors[url]
        while True:
            response = self.http.get(url, params)
            assert response.status_code == 200, response.content
            body = response.json()
            self.pages += 1
            for row in body["results"]:
                self.rows[url][row["id"]] = row
            self.cursors[url] = body["next_cursor"]
            if not body["next"]:
                return
            params = {"page_size": 3, "cursor": body["next_cursor"]}

    def sync_all(self):
        for url in ENDPOINTS:
            self.sync(url)

    def totals(self, start, end):
        def in_range(row, field):
            return start <= timezone.localdate(parse_datetime(row[field])) <= end

        apps = [a for a in self.rows["/api/v1/apps/"].values() if in_range(a, "created_at")]
        purchases = [p for p in self.rows["/api/v1/purchases/"].values() if in_range(p, "created_at")]
        by_purchases, by_credits = Counter(), Counter()
        for purchase in purchases:
            by_purchases[purchase["app_id"]] += 1
            by_credits[purchase["app_id"]] += purchase["price_paid"]
        ledger_spent = -sum(
            e["amount"]
            for e in self.rows["/api/v1/ledger/"].values()
            if e["kind"] == "purchase" and in_range(e, "created_at")
        )
        return {
            "apps_created": len(apps),
            "credits_spent_on_apps": sum(p["price_paid"] for p in purchases),
            "credits_in_ledger": ledger_spent,
            "top_by_purchases": ranked(by_purchases),
            "top_by_credits": ranked(by_credits),
        }


def ranked(counter):
    return [(app_id, n) for app_id, n in sorted(counter.items(), key=lambda item: (-item[1], item[0])) if n]


@pytest.mark.django_db(transaction=True)
def test_a_separate_dashboard_service_reaches_the_products_own_figures(on_postgres, settings):
    settings.DATA_API_SYNC_LAG_SECONDS = LAG
    settings.REPORTING_LIVE_CACHE_SECONDS = 0
    settings.WEBHOOK_TIMEOUT_SECONDS = 2
    category = CategoryFactory()
    client, secret = new_client(["apps:read", "purchases:read", "users:read", "ledger:read"])
    token = token_response(client.client_id, secret).json()["access_token"]
    service = DashboardService(bearer(token))

    with webhook_receiver() as receiver:
        WebhookEndpoint.objects.create(
            name="Dashboard", url=receiver.url(HOOK), secret="s" * 40, events=["app.created", "purchase.created"]
        )
        apps = [
            save_app(
                app=App(
                    name=f"Proof {n}", slug=f"proof-{n}", category=category, points_reward=5, credit_price=n * 7 + 1
                )
            )
            for n in range(5)
        ]
        members = [member_with(500) for _ in range(8)]
        written, errors = [], []

        def write_purchases():
            try:
                for n, member in enumerate(members):
                    for app in apps[: 1 + n % len(apps)]:
                        written.append(buy_app(member=member, app=app, idempotency_key=next_key()).purchase.pk)
                        time.sleep(0.01)
            except Exception as exc:  # asserted below
                errors.append(exc)
            finally:
                from django.db import connection

                connection.close()

        writer = threading.Thread(target=write_purchases)
        writer.start()
        while writer.is_alive():
            service.sync_all()
            time.sleep(0.05)
        writer.join()
        time.sleep(LAG + 0.2)  # past the sync lag: every written row is now served
        service.sync_all()

    assert errors == []
    assert sorted(service.rows["/api/v1/purchases/"]) == sorted(written)  # none missed
    assert service.pages > len(ENDPOINTS) * 3  # it really paged while the writes went on

    today = timezone.localdate()
    board = reporting.dashboard(today, today)
    theirs = service.totals(today, today)
    assert theirs["apps_created"] == board.totals["apps_created"] == len(apps)
    assert theirs["credits_spent_on_apps"] == theirs["credits_in_ledger"] == board.totals["credits_spent_on_apps"]
    assert theirs["top_by_purchases"][:10] == [(row["app_id"], row["purchases"]) for row in board.top_by_purchases]
    assert theirs["top_by_credits"][:10] == [(row["app_id"], row["credits"]) for row in board.top_by_credits]

    received = Counter(r.headers["X-Rewards-Event"] for r in receiver.requests)
    assert received["purchase.created"] == len(written)
    assert received["app.created"] == len(apps)
