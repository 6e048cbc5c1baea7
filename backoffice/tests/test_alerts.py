"""Staff alerts: an in-app notification and an email for each active member of the groups, never a flood."""

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from backoffice.alerts import alert_staff
from backoffice.models import Notification, StaffAlert
from backoffice.roles import MODERATORS
from backoffice.tests.factories import StaffFactory, UserFactory, admin, moderator

pytestmark = pytest.mark.django_db


def raise_alert(**overrides):
    fields = {"kind": "job_failed", "subject": "Job x failed", "body": "Traceback...", "url": "/admin/task_runs/"}
    return alert_staff(**{**fields, **overrides})


def test_each_admin_gets_a_notification_and_an_email(django_capture_on_commit_callbacks):
    first, second = admin(), admin()
    moderator()
    UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        raise_alert()

    assert sorted(Notification.objects.values_list("user__email", flat=True)) == sorted([first.email, second.email])
    notification = Notification.objects.filter(user=first).get()
    assert notification.subject == "Job x failed"
    assert "Traceback..." in notification.body and "/admin/task_runs/" in notification.body
    assert sorted(message.to[0] for message in mail.outbox) == sorted([first.email, second.email])
    assert all(len(message.to) == 1 for message in mail.outbox)


def test_inactive_staff_and_other_groups_are_not_alerted(django_capture_on_commit_callbacks):
    admin_user = admin()
    StaffFactory(role="Admins", is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        raise_alert()
    assert list(Notification.objects.values_list("user", flat=True)) == [admin_user.pk]


def test_alerts_can_go_to_another_group():
    mod = moderator()
    admin()
    raise_alert(groups=(MODERATORS,))
    assert list(Notification.objects.values_list("user", flat=True)) == [mod.pk]


def test_the_same_alert_again_within_the_window_only_counts_a_repeat(django_capture_on_commit_callbacks):
    admin()
    with django_capture_on_commit_callbacks(execute=True):
        assert raise_alert() is not None
        assert raise_alert() is None
        assert raise_alert() is None

    assert Notification.objects.count() == 1
    assert len(mail.outbox) == 1
    assert StaffAlert.objects.get().repeats == 2


def test_the_same_alert_is_sent_again_once_the_window_has_passed(settings):
    admin()
    raise_alert()
    an_hour_ago = timezone.now() - datetime.timedelta(seconds=settings.ALERT_REPEAT_SECONDS + 1)
    StaffAlert.objects.update(raised_at=an_hour_ago)
    assert raise_alert() is not None
    assert Notification.objects.count() == 2


def test_an_alert_repeating_without_pause_is_still_sent_once_per_window(settings):
    """Repeats do not push the window forward: a job failing every five minutes alerts once an hour."""
    admin()
    raise_alert()
    an_hour_ago = timezone.now() - datetime.timedelta(seconds=settings.ALERT_REPEAT_SECONDS + 1)
    StaffAlert.objects.update(raised_at=an_hour_ago, last_raised_at=timezone.now())
    assert raise_alert() is not None


def test_a_different_subject_is_a_different_alert():
    admin()
    raise_alert(subject="Job x failed")
    raise_alert(subject="Job y failed")
    assert Notification.objects.count() == 2


def test_nothing_is_emailed_when_the_callers_transaction_rolls_back(django_capture_on_commit_callbacks):
    admin()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        raise_alert()
    assert len(callbacks) == 1 and mail.outbox == []


def test_an_alert_can_go_to_one_person_only(django_capture_on_commit_callbacks):
    uploader = admin()
    admin()  # another Admin: not told
    StaffFactory(is_superuser=True)  # superusers too are only told of alerts to groups
    with django_capture_on_commit_callbacks(execute=True):
        raise_alert(kind="job_finished", subject="Your upload is done", groups=(), users=[uploader])

    assert list(Notification.objects.values_list("user", flat=True)) == [uploader.pk]
    assert [message.to for message in mail.outbox] == [[uploader.email]]


def test_alerts_to_people_are_never_folded_into_an_earlier_one():
    first, second = admin(), admin()
    assert raise_alert(subject="Upload done", groups=(), users=[first]) is not None
    assert raise_alert(subject="Upload done", groups=(), users=[second]) is not None
    assert sorted(Notification.objects.values_list("user", flat=True)) == sorted([first.pk, second.pk])


def test_an_inactive_person_is_not_alerted():
    gone = StaffFactory(is_active=False)
    raise_alert(groups=(), users=[gone])
    assert not Notification.objects.exists()


def test_an_alert_that_cannot_be_raised_is_logged_and_not_raised_over_the_callers_outcome(monkeypatch, caplog):
    from backoffice import alerts

    def broken(**alert):
        raise RuntimeError("mail server down")

    monkeypatch.setattr(alerts, "alert_staff", broken)
    assert alerts.alert_staff_or_log(kind="job_failed", subject="Job x failed") is None
    assert "could not alert staff (job_failed): Job x failed" in caplog.text
