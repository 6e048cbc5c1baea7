"""Webhooks: Admins register endpoints; each domain event they subscribed to becomes a signed, logged delivery.

Signature: `X-Rewards-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, with the same
timestamp in `X-Rewards-Timestamp`, the event in `X-Rewards-Event` and the delivery id in `X-Rewards-Delivery`
(the same id on every retry: receivers deduplicate on it). A receiver recomputes the HMAC over the raw body
and refuses timestamps older than a few minutes (replay protection).
"""

import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
import time
from urllib.parse import urlsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from backoffice import outbound
from backoffice.cache import cached_versioned
from backoffice.errors import DomainError

from .apps import WEBHOOKS_CACHE_GROUP
from .models import WebhookDelivery, WebhookEndpoint


class WebhookRefused(DomainError):
    pass


def new_secret():
    return secrets.token_hex(32)


def check_url(url):
    """Refuse an endpoint URL that is not http(s) or points at a private, loopback or reserved address."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise WebhookRefused("invalid_url", "This is not a valid URL.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookRefused("invalid_url", "Only http and https addresses are allowed.")
    if parts.username or parts.password:
        raise WebhookRefused("invalid_url", "Addresses with a user name or password are not allowed.")
    try:
        addresses = [str(ipaddress.ip_address(parts.hostname))]
    except ValueError:
        try:
            addresses = [info[4][0] for info in socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)]
        except (socket.gaierror, UnicodeError, OSError):
            raise WebhookRefused("invalid_url", "This host name does not resolve.") from None
    if not addresses or not all(outbound.address_is_allowed(address) for address in addresses):
        raise WebhookRefused("internal_url", "The address points at a private or reserved network.")
    return url


def sign(secret, timestamp, body):
    """The v1 signature: hex HMAC-SHA256 of "<timestamp>.<body>" with the endpoint's secret."""
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _subscribers():
    subscribers = {}
    for pk, events in WebhookEndpoint.objects.filter(active=True).order_by("pk").values_list("pk", "events"):
        for name in events:
            subscribers.setdefault(name, []).append(pk)
    return subscribers


def subscribed_endpoint_ids(event):
    """Ids of the active endpoints subscribed to `event`, from one map {event: [ids]} cached under the "webhooks"
    version.

    Every domain event asks this after its commit (an approval, a purchase): with the map cached, an event nobody
    subscribed to costs no query and, most often, no round trip to Redis (this process's copy). Saving or deleting
    an endpoint bumps the version (`bump_on_change` in apps.py, at once and at commit), so a new or changed
    subscription counts from the next event on.
    """
    subscribers = cached_versioned(
        "webhook-subscribers", [WEBHOOKS_CACHE_GROUP], (), _subscribers, settings.WEBHOOK_SUBSCRIBERS_CACHE_SECONDS
    )
    return subscribers.get(event, [])


def queue_deliveries(*, event, payload):
    """One delivery per active endpoint subscribed to `event`, each sent by a task after this transaction."""
    from .tasks import send_delivery

    ids = subscribed_endpoint_ids(event)
    if not ids:
        return []
    body = json.dumps({"event": event, "data": payload}, cls=DjangoJSONEncoder, sort_keys=True)
    endpoints = [e for e in WebhookEndpoint.objects.filter(pk__in=ids, active=True) if event in e.events]
    with transaction.atomic():
        deliveries = [WebhookDelivery.objects.create(endpoint=e, event=event, body=body) for e in endpoints]
        for delivery in deliveries:
            transaction.on_commit(lambda pk=delivery.pk: send_delivery.delay(pk))
    return deliveries


def attempt(delivery_id):
    """Send one delivery once and log the outcome; raises outbound.OutboundRetryable to have the task retry
    while attempts remain (WEBHOOK_MAX_ATTEMPTS), so a receiver's failure never escapes into the request
    that published the event (eager Celery) and never blocks a worker longer than WEBHOOK_TIMEOUT_SECONDS.

    A 2xx answer delivers it; a 5xx/429 answer, a timeout or a network failure is retried with back-off;
    any other answer, or an address the outbound rules refuse, fails it for good (Admins can replay it).
    """
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    if delivery.status == WebhookDelivery.Status.DELIVERED:
        return 0
    body = delivery.body.encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"{outbound.USER_AGENT} webhooks",
        "X-Rewards-Event": delivery.event,
        "X-Rewards-Delivery": str(delivery.pk),
        "X-Rewards-Timestamp": str(timestamp),
        "X-Rewards-Signature": f"t={timestamp},v1={sign(delivery.endpoint.secret, timestamp, body)}",
    }
    delivery.attempts += 1
    delivery.last_attempt_at = timezone.now()
    try:
        response = outbound.request(
            delivery.endpoint.url,
            method="POST",
            body=body,
            headers=headers,
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            max_bytes=64 * 1024,
            max_redirects=0,
        )
    except outbound.OutboundRetryable as exc:
        if delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
            # Given up: the delivery log (not the job run) says so, and an Admin can replay it.
            _record(delivery, WebhookDelivery.Status.FAILED, exc)
            return 0
        _record(delivery, WebhookDelivery.Status.RETRYING, exc)
        raise
    except outbound.OutboundError as exc:
        _record(delivery, WebhookDelivery.Status.FAILED, exc)
        return 0
    delivery.response_status = response.status
    _record(delivery, WebhookDelivery.Status.DELIVERED, None)
    return 1


def _record(delivery, status, error):
    delivery.status = status
    delivery.last_error = "" if error is None else str(error)[:1000]
    if error is not None:
        delivery.response_status = getattr(error, "status", None)
    delivery.save(update_fields=["status", "attempts", "last_attempt_at", "last_error", "response_status"])


def replay(delivery, *, actor):
    """Send a delivery again (a new delivery of the same event and body, so the log keeps both)."""
    from .tasks import send_delivery

    copy = WebhookDelivery.objects.create(
        endpoint=delivery.endpoint, event=delivery.event, body=delivery.body, replay_of=delivery, replayed_by=actor
    )
    transaction.on_commit(lambda: send_delivery.delay(copy.pk))
    return copy
