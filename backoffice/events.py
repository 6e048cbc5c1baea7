"""Domain events: `publish(event, payload)` after the caller's transaction commits; apps to the left subscribe.

A subscriber is a Wagtail hook `backoffice_event` taking `(event, payload)`, so the publishing app never
imports the subscribing one (moderation publishes `proof.approved`, integrations turns it into webhooks).
Payloads are plain JSON-serializable dicts. A failing subscriber is logged and does not stop the others:
the business write has already committed.
"""

import logging

from django.db import transaction
from wagtail import hooks

logger = logging.getLogger(__name__)

EVENT_HOOK = "backoffice_event"
EVENTS = ("app.created", "purchase.created", "purchase.refunded", "proof.approved", "redemption.created")


def publish(event, payload):
    """Tell every subscriber about `event` once the current transaction commits (at once outside one)."""
    if event not in EVENTS:
        raise ValueError(f"Unknown event {event!r}; declare it in backoffice.events.EVENTS.")
    transaction.on_commit(lambda: deliver(event, payload))


def deliver(event, payload):
    for subscriber in hooks.get_hooks(EVENT_HOOK):
        try:
            subscriber(event, payload)
        except Exception:
            logger.exception("Subscriber %r failed on event %s", subscriber, event)
