"""Outgoing email and SMS: every message is a Delivery row, sent by a Celery task, retried, never lost silently.

- Email: `EMAIL_BACKEND = "backoffice.delivery.QueuedEmailBackend"`, so every `send_mail`, password reset and
  notification goes through here. The row is written in the caller's transaction; the send is queued when it
  commits and done by the backend named in EMAIL_DELIVERY_BACKEND, bounded by EMAIL_TIMEOUT.
- SMS: `queue_sms(to, body)`, sent by settings.SMS_BACKEND (bounded by SMS_TIMEOUT_SECONDS).

After the commit the request does not queue a task per message: it wakes the sender (`wake_sender`), one
`send_queued_deliveries` task per burst, which sends every message still waiting for its first attempt. A moderator
approving proofs in a row so pays a cache `add` per approval instead of a broker publish (about 1 ms each here).

A failed attempt never reaches the request that caused it (with eager Celery the send runs inline but only
records its error). It is retried by the `retry_deliveries` sweep after DELIVERY_RETRY_SECONDS, doubling each
time, and marked failed after DELIVERY_MAX_ATTEMPTS; staff can send it again from Deliveries.
"""

import base64
import datetime
import functools
import logging

from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string

from .alerts import alert_staff_or_log
from .jobs import prune_older_than, retry_delay
from .models import Delivery

logger = logging.getLogger(__name__)

PENDING = (Delivery.Status.QUEUED, Delivery.Status.RETRYING)
MAX_ERROR_CHARS = 2000


def _new_delivery(channel, to, subject, message):
    return Delivery(
        channel=channel,
        to=to[:500],
        subject=subject[:300],
        message=message,
        # If the immediate send never happens (broker down, worker lost), the sweep takes over from here.
        next_attempt_at=timezone.now() + datetime.timedelta(seconds=settings.DELIVERY_RETRY_SECONDS),
    )


def _queue(channel, to, subject, message):
    """Record a delivery and send it once the caller's transaction commits (at once outside one)."""
    delivery = _new_delivery(channel, to, subject, message)
    delivery.save(force_insert=True)
    after_commit(wake_sender)
    return delivery


def _insert_sql(row):
    """An INSERT of the unsaved model instance `row` (every concrete field but the primary key) and its parameters."""
    quote = connection.ops.quote_name
    fields = [field for field in row._meta.concrete_fields if not field.primary_key]
    columns = ", ".join(quote(field.column) for field in fields)
    params = [field.get_db_prep_save(field.pre_save(row, True), connection) for field in fields]
    placeholders = ", ".join(["%s"] * len(fields))
    return f"INSERT INTO {quote(row._meta.db_table)} ({columns}) VALUES ({placeholders})", params


def queue_email_beside(row, *, to, subject, body):
    """Save the unsaved model instance `row` and queue a plain email, as `send_mail` through the queued backend would
    (same Delivery row, sent after commit). On PostgreSQL both rows go in with one statement: a notification and its
    email are written on every approval. Returns the delivery; `row` gets its primary key."""
    message = EmailMultiAlternatives(subject, body, settings.DEFAULT_FROM_EMAIL, list(to))
    delivery = _new_delivery(Delivery.Channel.EMAIL, ", ".join(message.recipients()), subject, email_to_dict(message))
    if connection.vendor != "postgresql":
        row.save(force_insert=True)
        delivery.save(force_insert=True)
    else:
        row_sql, row_params = _insert_sql(row)
        delivery_sql, delivery_params = _insert_sql(delivery)
        sql = f"WITH saved AS ({row_sql} RETURNING id) {delivery_sql} RETURNING id, (SELECT id FROM saved)"
        with connection.cursor() as cursor:
            cursor.execute(sql, [*row_params, *delivery_params])
            delivery.pk, row.pk = cursor.fetchone()
        row._state.adding = delivery._state.adding = False
        row._state.db = delivery._state.db = connection.alias
    after_commit(wake_sender)
    return delivery


def after_commit(callback):
    """Run `callback` when the caller's transaction commits, or now when there is none.

    Exactly `transaction.on_commit`, except that the transaction a test case wraps each test in does not count
    (Django marks it `_from_testcase`): tests then see what production does, a send right after the commit.
    """
    if any(not block._from_testcase for block in connection.atomic_blocks):
        transaction.on_commit(callback)
    else:
        callback()


WAKE_KEY = "backoffice:delivery:wake"


def wake_sender():
    """Queue `send_queued_deliveries` unless a wake-up is already queued and not yet started.

    The task clears the key before it reads the waiting rows, and a caller wakes the sender only after its rows are
    committed, so every row is either read by a task that has not started yet or wakes a new one. A lost wake-up
    (worker or broker gone) holds the key for DELIVERY_WAKE_SECONDS at most; the retry sweep sends what it missed.
    """
    from .tasks import send_queued_deliveries

    try:
        first = cache.add(WAKE_KEY, True, settings.DELIVERY_WAKE_SECONDS) is not False
    except Exception:  # the cache is down: wake the sender anyway (an outage costs a task per message, not mail)
        first = True
    if not first:
        return
    try:
        send_queued_deliveries.delay()
    except Exception:
        logger.exception("deliveries could not be queued; the retry sweep will send them")


def send_queued_deliveries():
    """Send every delivery still waiting for its first attempt, oldest first; returns how many were read.

    Another task may be sending the same rows: `deliver` claims each one, so none is sent twice."""
    try:
        cache.delete(WAKE_KEY)
    except Exception:  # a dead cache holds no wake-up: every caller wakes the sender meanwhile
        logger.warning("the cache is down: the sender's wake-up key could not be cleared")
    waiting = list(
        Delivery.objects.filter(status=Delivery.Status.QUEUED, attempts=0)
        .order_by("pk")
        .values_list("pk", flat=True)[: settings.DELIVERY_SWEEP_BATCH]
    )
    for delivery_id in waiting:
        deliver(delivery_id)
    if len(waiting) == settings.DELIVERY_SWEEP_BATCH:
        wake_sender()  # more than a batch waits: another task (maybe on another worker) takes the rest
    return len(waiting)


def enqueue(delivery_id):
    """Ask a worker to send it now; a broker failure only delays it until the next sweep."""
    from .tasks import send_delivery

    try:
        send_delivery.delay(delivery_id)
    except Exception:
        logger.exception("delivery %s could not be queued; the retry sweep will send it", delivery_id)


# --- email -----------------------------------------------------------------------------------------------


def _attachment(attachment):
    filename, content, mimetype = (
        (attachment.get_filename(), attachment.get_payload(decode=True), attachment.get_content_type())
        if hasattr(attachment, "get_payload")
        else tuple(attachment)
    )
    if isinstance(content, str):
        content = content.encode()
    return {"filename": filename, "content": base64.b64encode(content).decode(), "mimetype": mimetype}


def email_to_dict(message):
    return {
        "subject": str(message.subject),
        "body": str(message.body),
        "from_email": message.from_email,
        "to": list(message.to),
        "cc": list(message.cc),
        "bcc": list(message.bcc),
        "reply_to": list(message.reply_to),
        "headers": dict(message.extra_headers),
        "alternatives": [[str(content), mimetype] for content, mimetype in getattr(message, "alternatives", [])],
        "attachments": [_attachment(attachment) for attachment in message.attachments],
    }


def email_from_dict(data):
    message = EmailMultiAlternatives(
        subject=data["subject"],
        body=data["body"],
        from_email=data["from_email"],
        to=data["to"],
        cc=data["cc"],
        bcc=data["bcc"],
        reply_to=data["reply_to"],
        headers=data["headers"],
    )
    for content, mimetype in data["alternatives"]:
        message.attach_alternative(content, mimetype)
    for attachment in data["attachments"]:
        message.attach(attachment["filename"], base64.b64decode(attachment["content"]), attachment["mimetype"])
    return message


def queue_email(message):
    return _queue(Delivery.Channel.EMAIL, ", ".join(message.recipients()), str(message.subject), email_to_dict(message))


class QueuedEmailBackend(BaseEmailBackend):
    """Django email backend that records each message as a Delivery and sends it from a task."""

    def send_messages(self, email_messages):
        queued = 0
        for message in email_messages:
            if not message.recipients():
                continue
            try:
                queue_email(message)
            except Exception:
                if not self.fail_silently:
                    raise
                logger.exception("email %r could not be queued", message.subject)
                continue
            queued += 1
        return queued


def _send_email(delivery):
    connection = get_connection(settings.EMAIL_DELIVERY_BACKEND, fail_silently=False)
    connection.send_messages([email_from_dict(delivery.message)])
    return ""


# --- SMS -------------------------------------------------------------------------------------------------


def queue_sms(to, body):
    """Text `body` to the E.164 number `to` through a Delivery; returns it (its status tells how it went)."""
    return _queue(Delivery.Channel.SMS, to, "", {"body": body})


def _send_sms(delivery):
    return import_string(settings.SMS_BACKEND)().send(delivery.to, delivery.message["body"]) or ""


SENDERS = {Delivery.Channel.EMAIL: _send_email, Delivery.Channel.SMS: _send_sms}


# --- sending ---------------------------------------------------------------------------------------------


def deliver(delivery_id):
    """One attempt. Claims the row with a conditional UPDATE, so a delivery is never sent twice at once."""
    now, failed = timezone.now(), False
    claimed = Delivery.objects.filter(pk=delivery_id, status__in=PENDING).update(
        status=Delivery.Status.SENDING, attempts=F("attempts") + 1, last_attempt_at=now
    )
    if not claimed:
        return None
    delivery = Delivery.objects.get(pk=delivery_id)
    try:
        provider_id = SENDERS[delivery.channel](delivery)
    except Exception as exc:
        delivery.last_error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]
        if delivery.attempts >= settings.DELIVERY_MAX_ATTEMPTS:
            delivery.status, delivery.next_attempt_at = Delivery.Status.FAILED, None
            logger.error(
                "delivery %s (%s) gave up after %s attempts: %s",
                delivery.pk,
                delivery,
                delivery.attempts,
                delivery.last_error,
            )
            failed = True
        else:
            delay = retry_delay(delivery.attempts - 1, settings.DELIVERY_RETRY_SECONDS)
            delivery.status, delivery.next_attempt_at = (
                Delivery.Status.RETRYING,
                now + datetime.timedelta(seconds=delay),
            )
            logger.warning(
                "delivery %s (%s) failed, attempt %s, retrying in %s s: %s",
                delivery.pk,
                delivery,
                delivery.attempts,
                delay,
                delivery.last_error,
            )
    else:
        delivery.status, delivery.sent_at, delivery.next_attempt_at = Delivery.Status.SENT, timezone.now(), None
        delivery.provider_id, delivery.last_error = str(provider_id)[:100], ""
    delivery.save(update_fields=["status", "last_error", "next_attempt_at", "sent_at", "provider_id"])
    if failed:
        _alert_failed(delivery)
    return delivery


def _alert_failed(delivery):
    """Tell the Admins (one alert per channel and hour): a member did not get an email or a code."""
    alert_staff_or_log(
        kind="delivery_failed",
        subject=f"{delivery.get_channel_display()} deliveries are failing",
        body=f"{delivery} was not sent after {delivery.attempts} attempts: {delivery.last_error}",
        url=f"/admin/deliveries/?status=failed&channel={delivery.channel}",
    )


def retry_due_deliveries(now=None):
    """Queue every delivery whose retry time has come (and free any stuck in 'sending'); returns their ids."""
    now = now or timezone.now()
    stuck_since = now - datetime.timedelta(seconds=settings.DELIVERY_STUCK_SECONDS)
    Delivery.objects.filter(status=Delivery.Status.SENDING, last_attempt_at__lt=stuck_since).update(
        status=Delivery.Status.RETRYING
    )
    due = list(
        Delivery.objects.filter(status__in=PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[: settings.DELIVERY_SWEEP_BATCH]
    )
    for delivery_id in due:
        enqueue(delivery_id)
    return due


def retry_delivery(delivery):
    """Staff's "Send again": a failed (or waiting) delivery is sent now. False when there is nothing to retry."""
    updated = Delivery.objects.filter(
        pk=delivery.pk, status__in=(Delivery.Status.FAILED, Delivery.Status.RETRYING)
    ).update(status=Delivery.Status.RETRYING, next_attempt_at=timezone.now())
    if updated:
        after_commit(functools.partial(enqueue, delivery.pk))
    return bool(updated)


def prune_deliveries(now=None):
    """Delete sent and failed deliveries older than DELIVERY_RETENTION_DAYS; returns how many.

    Those still queued, sending or waiting for a retry are kept whatever their age: deleting one would lose it.
    """
    finished = Delivery.objects.filter(status__in=(Delivery.Status.SENT, Delivery.Status.FAILED))
    return prune_older_than(finished, field="created_at", days=settings.DELIVERY_RETENTION_DAYS, now=now)
