"""Webhooks: signed deliveries after commit, retries with back-off, timeouts, internal addresses refused, replay."""

import json
import time

import pytest
from django.urls import reverse

from backoffice.tests.factories import admin
from catalog.tests.factories import AppFactory
from commerce.purchases import buy_app
from commerce.tests.factories import member_with, next_key
from integrations import webhooks
from integrations.models import WebhookDelivery, WebhookEndpoint
from integrations.tests.receiver import HOOK, webhook_receiver

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def quick_retries(settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    settings.WEBHOOK_MAX_ATTEMPTS = 3


def endpoint(url, events=("purchase.created",), secret="s" * 40):
    return WebhookEndpoint.objects.create(name="Dashboard", url=url, secret=secret, events=list(events))


def buy(capture):
    with capture(execute=True):
        return buy_app(member=member_with(100), app=AppFactory(credit_price=30), idempotency_key=next_key()).purchase


def test_a_purchase_is_posted_signed_to_subscribed_endpoints(django_capture_on_commit_callbacks):
    with webhook_receiver() as receiver:
        endpoint(receiver.url(HOOK))
        endpoint(receiver.url(HOOK), events=["app.created"])  # created before the app: gets app.created only
        purchase = buy(django_capture_on_commit_callbacks)
    events = [r.headers["X-Rewards-Event"] for r in receiver.requests]
    assert events.count("purchase.created") == 1
    sent = next(r for r in receiver.requests if r.headers["X-Rewards-Event"] == "purchase.created")
    stamp = sent.headers["X-Rewards-Timestamp"]
    assert sent.headers["X-Rewards-Signature"] == f"t={stamp},v1={webhooks.sign('s' * 40, int(stamp), sent.body)}"
    assert json.loads(sent.body) == {
        "event": "purchase.created",
        "data": json.loads(json.dumps(sent_data(purchase))),
    }
    delivery = WebhookDelivery.objects.get(event="purchase.created")
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("delivered", 1, 200)


def sent_data(purchase):
    from commerce.purchases import purchase_payload

    purchase.refresh_from_db()
    return purchase_payload(purchase)


def test_nothing_is_sent_when_the_purchase_rolls_back(django_capture_on_commit_callbacks):
    with webhook_receiver() as receiver:
        endpoint(receiver.url(HOOK))
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            buy_app(member=member_with(100), app=AppFactory(credit_price=30), idempotency_key=next_key())
        assert receiver.requests == [] and WebhookDelivery.objects.count() == 0
        assert callbacks  # only after commit


def test_a_5xx_answer_is_retried_until_delivered(django_capture_on_commit_callbacks):
    with webhook_receiver(statuses=[500, 503]) as receiver:
        endpoint(receiver.url(HOOK))
        buy(django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, len(receiver.requests)) == ("delivered", 3, 3)
    ids = {r.headers["X-Rewards-Delivery"] for r in receiver.requests}
    assert ids == {str(delivery.pk)}  # the same id on every retry


@pytest.mark.slow  # waits out a timeout
def test_a_receiver_that_hangs_times_out_is_retried_and_does_not_hold_the_worker(django_capture_on_commit_callbacks):
    with webhook_receiver(delay=5) as receiver:
        endpoint(receiver.url(HOOK))
        started = time.monotonic()
        buy(django_capture_on_commit_callbacks)
        elapsed = time.monotonic() - started
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    assert delivery.last_error and len(receiver.requests) == 3
    assert elapsed < 3 * 1 + 2  # three 1-second timeouts, not three 5-second hangs


def test_a_4xx_answer_fails_without_retrying(django_capture_on_commit_callbacks):
    with webhook_receiver(statuses=[410]) as receiver:
        endpoint(receiver.url(HOOK))
        buy(django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("failed", 1, 410)


@pytest.mark.parametrize(
    "url", ["http://10.0.0.7/hook", "http://169.254.169.254/latest", "http://[fd00::1]/x", "ftp://example.com/"]
)
def test_an_internal_or_non_http_url_is_refused_at_registration(client, url):
    client.force_login(admin())
    response = client.post(
        reverse("webhook_endpoints:add"),
        {"name": "x", "url": url, "events": ["purchase.created"], "secret": "s" * 40, "active": "on"},
    )
    assert response.status_code == 200 and "url" in response.context["form"].errors
    assert not WebhookEndpoint.objects.exists()


def test_a_stored_internal_url_is_never_called(django_capture_on_commit_callbacks):
    endpoint("http://10.0.0.7/hook")
    buy(django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert "private or reserved" in delivery.last_error


def test_an_admin_registers_an_endpoint_with_a_generated_secret(client):
    client.force_login(admin())
    form = client.get(reverse("webhook_endpoints:add")).context["form"]
    assert len(form.initial["secret"]) == 64
    with webhook_receiver() as receiver:
        response = client.post(
            reverse("webhook_endpoints:add"),
            {
                "name": "Dash",
                "url": receiver.url(HOOK),
                "events": ["purchase.created"],
                "secret": "k" * 40,
                "active": "on",
            },
        )
    assert response.status_code == 302 and WebhookEndpoint.objects.get().events == ["purchase.created"]


def test_an_admin_replays_a_failed_delivery(client, django_capture_on_commit_callbacks):
    with webhook_receiver(statuses=[410]) as receiver:
        endpoint(receiver.url(HOOK))
        buy(django_capture_on_commit_callbacks)
        failed = WebhookDelivery.objects.get()
        client.force_login(admin())
        with django_capture_on_commit_callbacks(execute=True):
            client.post(reverse("integrations_replay", args=[failed.pk]))
    replayed = WebhookDelivery.objects.exclude(pk=failed.pk).get()
    assert (replayed.status, replayed.replay_of) == ("delivered", failed)
    assert len(receiver.requests) == 2


def test_an_event_nobody_subscribed_to_costs_no_query_once_the_subscribers_are_cached(django_assert_num_queries):
    endpoint("https://203.0.113.10/hook", events=["app.created"])
    assert webhooks.queue_deliveries(event="purchase.created", payload={"id": 1}) == []
    with django_assert_num_queries(0):
        assert webhooks.queue_deliveries(event="purchase.created", payload={"id": 2}) == []


def test_a_new_endpoint_is_subscribed_from_the_next_event_on(django_capture_on_commit_callbacks):
    assert webhooks.subscribed_endpoint_ids("purchase.created") == []  # cached: nobody
    with django_capture_on_commit_callbacks(execute=True):
        created = endpoint("https://203.0.113.10/hook")
    assert webhooks.subscribed_endpoint_ids("purchase.created") == [created.pk]


def test_a_deactivated_or_deleted_endpoint_stops_getting_events(django_capture_on_commit_callbacks):
    first, second = endpoint("https://203.0.113.10/a"), endpoint("https://203.0.113.10/b")
    assert webhooks.subscribed_endpoint_ids("purchase.created") == [first.pk, second.pk]
    with django_capture_on_commit_callbacks(execute=True):
        first.active = False
        first.save()
    assert webhooks.subscribed_endpoint_ids("purchase.created") == [second.pk]
    with django_capture_on_commit_callbacks(execute=True):
        second.delete()
    assert webhooks.subscribed_endpoint_ids("purchase.created") == []
