"""Celery tasks of integrations, recorded as TaskRun rows."""

from django.conf import settings

from backoffice.jobs import recorded_task

from . import webhooks


@recorded_task(
    name="integrations.tasks.send_delivery",
    max_retries=settings.WEBHOOK_MAX_ATTEMPTS,  # the delivery counts its own attempts and stops first
    backoff_seconds=settings.WEBHOOK_BACKOFF_SECONDS,
)
def send_delivery(delivery_id):
    """POST one webhook delivery; network failures, timeouts and 5xx answers are retried with back-off."""
    return webhooks.attempt(delivery_id)
