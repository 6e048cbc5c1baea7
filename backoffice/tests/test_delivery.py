"""Emails and SMS are Delivery rows sent by a task: recorded, retried with back-off, never raised into the caller."""

import datetime
import logging
import time

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives, send_mail
from django.urls import reverse
from django.utils import timezone

from backoffice import delivery as deliveries
from backoffice import tasks
from backoffice.models import Delivery, Notification
from backoffice.services import notify_user
from backoffice.testing.servers import refused_port, silent_server
from backoffice.tests.factories import UserFactory, admin
from growth.sms import ConsoleSMSBackend

pytestmark = pytest.mark.django_db

Status = Delivery.Status


def make_due(delivery):
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - datetime.timedelta(seconds=1))


def test_an_email_is_recorded_then_sent_with_the_real_backend():
    send_mail("Hello", "Body", "from@example.test", ["a@example.test", "b@example.test"])
    sent = Delivery.objects.get()
    assert (sent.channel, sent.to, sent.subject, sent.status, sent.attempts) == (
        "email",
        "a@example.test, b@example.test",
        "Hello",
        Status.SENT,
        1,
    )
    assert sent.sent_at is not None and sent.next_attempt_at is None
    assert [(m.subject, m.body, m.to) for m in mail.outbox] == [("Hello", "Body", ["a@example.test", "b@example.test"])]


def test_html_alternatives_attachments_and_headers_survive_the_queue():
    message = EmailMultiAlternatives("Report", "text", "from@example.test", ["a@example.test"], cc=["c@example.test"])
    message.attach_alternative("<p>html</p>", "text/html")
    message.attach("figures.csv", "a,b\n1,2\n", "text/csv")
    message.extra_headers["X-Kind"] = "report"
    message.send()
    [sent] = mail.outbox
    assert sent.alternatives[0][0] == "<p>html</p>" and sent.cc == ["c@example.test"]
    assert sent.attachments[0][0] == "figures.csv" and sent.extra_headers == {"X-Kind": "report"}


def test_nothing_is_queued_or_sent_when_the_callers_transaction_rolls_back(django_capture_on_commit_callbacks):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        notify_user(UserFactory(), "Approved")
        raise RuntimeError
    assert not Delivery.objects.exists() and mail.outbox == []


@pytest.mark.slow  # waits out a timeout
def test_a_silent_smtp_server_costs_the_caller_one_timeout_and_the_email_waits_for_a_retry(smtp):
    user = UserFactory()
    with silent_server() as port:
        smtp(port)
        started = time.monotonic()
        notify_user(user, "Your proof was approved")
        elapsed = time.monotonic() - started
    assert elapsed < 5
    waiting = Delivery.objects.get()
    assert (waiting.status, waiting.attempts) == (Status.RETRYING, 1)
    assert "timed out" in waiting.last_error
    assert waiting.next_attempt_at > timezone.now()


def test_a_refused_smtp_connection_is_recorded_and_logged(smtp, caplog):
    smtp(refused_port())
    with caplog.at_level(logging.WARNING, logger="backoffice.delivery"):
        notify_user(UserFactory(), "Your proof was approved")
    waiting = Delivery.objects.get()
    assert waiting.status == Status.RETRYING
    assert "ConnectionRefusedError" in waiting.last_error
    assert "ConnectionRefusedError" in caplog.text


def test_retries_back_off_and_the_last_attempt_marks_the_email_failed(smtp, settings, caplog):
    settings.DELIVERY_MAX_ATTEMPTS, settings.DELIVERY_RETRY_SECONDS = 3, 60
    smtp(refused_port())
    notify_user(UserFactory(), "Approved")
    delays = []
    for _ in range(2):
        waiting = Delivery.objects.get()
        delays.append(round((waiting.next_attempt_at - waiting.last_attempt_at).total_seconds()))
        make_due(waiting)
        with caplog.at_level(logging.ERROR, logger="backoffice.delivery"):
            tasks.retry_deliveries.delay()
    failed = Delivery.objects.get()
    assert delays == [60, 120]
    assert (failed.status, failed.attempts, failed.next_attempt_at) == (Status.FAILED, 3, None)
    assert "gave up after 3 attempts" in caplog.text


def test_a_delivery_that_fails_for_good_alerts_the_admins(smtp, settings):
    settings.DELIVERY_MAX_ATTEMPTS = 1
    boss = admin()
    smtp(refused_port())
    notify_user(UserFactory(), "Approved")
    alert = Notification.objects.get(user=boss)
    assert alert.subject == "Email deliveries are failing"
    assert "ConnectionRefusedError" in alert.body and "/admin/deliveries/?status=failed" in alert.body
    # The alert's own email to the admin fails the same way, and only counts a repeat.
    assert Notification.objects.filter(user=boss).count() == 1


def test_a_password_reset_email_is_a_delivery(client):
    user = UserFactory()
    client.post(reverse("password_reset"), {"email": user.email})
    reset = Delivery.objects.get()
    assert (reset.channel, reset.to, reset.status) == ("email", user.email, Status.SENT)
    assert mail.outbox[0].to == [user.email]


def test_the_sweep_sends_a_waiting_email_once_the_server_is_back(smtp, settings):
    smtp(refused_port())
    notify_user(UserFactory(), "Approved")
    settings.EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    tasks.retry_deliveries.delay()
    assert Delivery.objects.get().status == Status.RETRYING  # not due yet
    make_due(Delivery.objects.get())
    tasks.retry_deliveries.delay()
    sent = Delivery.objects.get()
    assert (sent.status, sent.attempts, sent.last_error) == (Status.SENT, 2, "")
    assert len(mail.outbox) == 1


def test_a_broker_failure_leaves_the_email_queued_for_the_sweep(monkeypatch, caplog):
    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.send_queued_deliveries, "delay", broker_down)
    notify_user(UserFactory(), "Approved")
    assert Delivery.objects.get().status == Status.QUEUED
    assert "retry sweep will send them" in caplog.text
    monkeypatch.undo()
    make_due(Delivery.objects.get())
    tasks.retry_deliveries.delay()
    assert Delivery.objects.get().status == Status.SENT


def test_a_burst_of_deliveries_wakes_the_sender_once(monkeypatch, django_capture_on_commit_callbacks):
    wake_ups = []
    monkeypatch.setattr(tasks.send_queued_deliveries, "delay", lambda: wake_ups.append(1))
    for number in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            deliveries.queue_sms("+15550001111", f"code {number}")
    assert len(wake_ups) == 1
    assert Delivery.objects.filter(status=Status.QUEUED).count() == 3


def test_one_wake_up_sends_every_delivery_waiting_for_its_first_attempt(monkeypatch):
    monkeypatch.setattr(tasks.send_queued_deliveries, "delay", lambda: None)  # the wake-up is queued, not yet run
    for number in range(3):
        deliveries.queue_sms("+15550001111", f"code {number}")
    ConsoleSMSBackend.outbox.clear()
    monkeypatch.undo()
    tasks.send_queued_deliveries.delay()
    assert [sms["body"] for sms in ConsoleSMSBackend.outbox] == ["code 0", "code 1", "code 2"]
    assert set(Delivery.objects.values_list("status", "attempts")) == {(Status.SENT, 1)}


def test_a_delivery_queued_once_the_sender_started_wakes_it_again(monkeypatch):
    wake_ups = []
    monkeypatch.setattr(tasks.send_queued_deliveries, "delay", lambda: wake_ups.append(1))
    deliveries.queue_sms("+15550001111", "first")
    deliveries.send_queued_deliveries()  # the task starts: the wake-up is spent
    deliveries.queue_sms("+15550001111", "second")
    assert len(wake_ups) == 2


def test_the_sender_leaves_retries_to_the_sweep(smtp, monkeypatch):
    smtp(refused_port())
    notify_user(UserFactory(), "Approved")
    assert Delivery.objects.get().status == Status.RETRYING
    assert deliveries.send_queued_deliveries() == 0  # only first attempts: a retry waits for its time


def test_more_than_a_batch_waiting_wakes_another_sender(monkeypatch, settings):
    settings.DELIVERY_SWEEP_BATCH = 2
    wake_ups = []
    monkeypatch.setattr(tasks.send_queued_deliveries, "delay", lambda: wake_ups.append(1))
    for number in range(3):
        deliveries.queue_sms("+15550001111", f"code {number}")
    wake_ups.clear()
    assert deliveries.send_queued_deliveries() == 2
    assert wake_ups == [1]
    assert deliveries.send_queued_deliveries() == 1
    assert Delivery.objects.filter(status=Status.SENT).count() == 3


def test_a_delivery_is_sent_once_however_often_it_is_queued():
    deliveries.queue_sms("+15550001111", "hello")
    sent = Delivery.objects.get()
    assert deliveries.deliver(sent.pk) is None
    tasks.send_delivery.delay(sent.pk)
    assert len(ConsoleSMSBackend.outbox) == 1 and Delivery.objects.get().attempts == 1


def test_a_send_lost_with_its_worker_is_retried_by_the_sweep(settings):
    deliveries.queue_sms("+15550001111", "hello")
    stuck_since = timezone.now() - datetime.timedelta(seconds=settings.DELIVERY_STUCK_SECONDS + 1)
    Delivery.objects.update(status=Status.SENDING, last_attempt_at=stuck_since, next_attempt_at=stuck_since)
    ConsoleSMSBackend.outbox.clear()
    tasks.retry_deliveries.delay()
    assert Delivery.objects.get().status == Status.SENT and len(ConsoleSMSBackend.outbox) == 1


def test_sending_again_a_failed_delivery(smtp, settings):
    settings.DELIVERY_MAX_ATTEMPTS = 1
    smtp(refused_port())
    notify_user(UserFactory(), "Approved")
    failed = Delivery.objects.get()
    assert failed.status == Status.FAILED
    settings.EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert deliveries.retry_delivery(failed) is True
    assert Delivery.objects.get().status == Status.SENT
    assert deliveries.retry_delivery(failed) is False  # nothing left to retry


def test_an_sms_is_recorded_and_sent_by_the_configured_backend():
    ConsoleSMSBackend.outbox.clear()
    sms = deliveries.queue_sms("+15550001111", "code 123456")
    sms.refresh_from_db()
    assert (sms.channel, sms.to, sms.status, sms.provider_id) == ("sms", "+15550001111", Status.SENT, "console-1")
    assert ConsoleSMSBackend.outbox[-1] == {"to": "+15550001111", "body": "code 123456"}


def test_a_notification_writes_the_same_email_delivery_as_send_mail_and_sends_it_after_commit(
    django_capture_on_commit_callbacks,
):
    user = UserFactory(email="member@example.test")
    send_mail("Approved", "10 points", None, [user.email])
    by_send_mail = Delivery.objects.get()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        notification = notify_user(user, "Approved", "10 points")
    delivery = Delivery.objects.exclude(pk=by_send_mail.pk).get()
    assert Notification.objects.get(pk=notification.pk).user == user
    assert (delivery.to, delivery.subject, delivery.message) == (user.email, "Approved", by_send_mail.message)
    assert [(m.to, m.subject, m.body) for m in mail.outbox] == [([user.email], "Approved", "10 points")]


def test_a_notification_and_its_email_take_one_statement_on_postgresql(django_assert_num_queries):
    from django.db import connection, transaction

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL writes both rows in one statement; other databases write two")
    user = UserFactory()
    with transaction.atomic(), django_assert_num_queries(1):  # as in an approval: the send waits for the commit
        notify_user(user, "Approved", "10 points")
    assert Notification.objects.filter(user=user).count() == 1 and Delivery.objects.count() == 1


def test_old_sent_and_failed_deliveries_are_pruned_and_waiting_ones_kept(settings):
    settings.DELIVERY_RETENTION_DAYS = 90
    old = timezone.now() - datetime.timedelta(days=91)
    for status in (Status.SENT, Status.FAILED, Status.RETRYING, Status.QUEUED, Status.SENDING):
        Delivery.objects.filter(pk=Delivery.objects.create(channel="sms", to="+1555", status=status).pk).update(
            created_at=old
        )
    Delivery.objects.create(channel="sms", to="+1555", status=Status.SENT)  # recent
    assert tasks.prune_deliveries.delay().get() == 2
    assert sorted(Delivery.objects.values_list("status", flat=True)) == ["queued", "retrying", "sending", "sent"]


def test_deliveries_are_pruned_on_a_schedule():
    from django_celery_beat.models import PeriodicTask

    assert PeriodicTask.objects.get(task="backoffice.tasks.prune_deliveries").enabled


def test_a_dead_cache_still_sends_every_delivery(settings):
    # No IGNORE_EXCEPTIONS: every cache call raises, as a backend without django-redis's guard would.
    settings.CACHES = {
        "default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": f"redis://127.0.0.1:{refused_port()}/0"}
    }
    deliveries.queue_sms("+15550001111", "first")
    deliveries.queue_sms("+15550001111", "second")
    assert set(Delivery.objects.values_list("status", flat=True)) == {Status.SENT}
