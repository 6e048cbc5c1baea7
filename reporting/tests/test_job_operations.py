"""Operating the jobs: every scheduled task is recorded, Admins run one now, failures and missed schedules alert."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from backoffice import jobs
from backoffice.celery import app
from backoffice.models import Notification, StaffAlert, TaskRun
from backoffice.tests.factories import admin, moderator
from reporting import schedules, tasks

pytestmark = pytest.mark.django_db

# Tasks that are not jobs: each keeps its own record (a Delivery row), so a TaskRun per email would be noise.
NOT_JOBS = {"backoffice.tasks.send_delivery", "backoffice.tasks.send_queued_deliveries"}
NOW = timezone.now()  # "now" of the missed-schedule checks; runs are dated relative to it


def schedule(name, task, every=None, **fields):
    if every:
        fields["interval"] = IntervalSchedule.objects.create(every=every, period="minutes")
    return PeriodicTask.objects.create(name=name, task=task, **fields)


def succeeded(task_name, ago):
    run = TaskRun.objects.create(task_name=task_name, status=TaskRun.Status.SUCCEEDED)
    TaskRun.objects.filter(pk=run.pk).update(started_at=NOW - ago)  # NOW: the instant the checks are asked at


# Every job is recorded


def test_every_task_of_the_code_base_is_a_recorded_job():
    app.loader.import_default_modules()
    names = [name for name in app.tasks if not name.startswith("celery.")]
    assert len(names) >= 8
    unrecorded = [name for name in names if name not in NOT_JOBS and not jobs.is_recorded_task(app.tasks[name])]
    assert unrecorded == []


def test_every_scheduled_task_names_a_recorded_job():
    app.loader.import_default_modules()
    scheduled = set(PeriodicTask.objects.values_list("task", flat=True))
    assert {"catalog.tasks.import_competitor_prices", "moderation.tasks.expire_claims"} <= scheduled
    assert {"growth.tasks.credit_waiting_referrals", "reporting.tasks.check_schedules"} <= scheduled
    assert {"backoffice.tasks.retry_deliveries", "backoffice.tasks.prune_task_runs"} <= scheduled
    assert [name for name in scheduled if name not in app.tasks or not jobs.is_recorded_task(app.tasks[name])] == []


@pytest.mark.parametrize(
    "name",
    [
        "moderation.tasks.expire_claims",
        "growth.tasks.credit_waiting_referrals",
        "catalog.tasks.import_competitor_prices",
    ],
)
def test_each_formerly_unrecorded_job_now_leaves_a_run(name):
    app.loader.import_default_modules()  # the apps' tasks modules, as a worker loads them
    app.tasks[name].delay()
    assert TaskRun.objects.get(task_name=name).status == TaskRun.Status.SUCCEEDED


# Run now


def test_the_schedule_listing_offers_run_now(as_admin):
    task = PeriodicTask.objects.get(task="moderation.tasks.expire_claims")
    body = as_admin.get(reverse("periodic_tasks:index")).content.decode()
    assert reverse("periodic_tasks:run", args=[task.pk]) in body


def test_run_now_asks_first_then_runs_and_shows_the_run(as_admin):
    task = PeriodicTask.objects.get(task="moderation.tasks.expire_claims")
    assert "Run now" in as_admin.get(reverse("periodic_tasks:run", args=[task.pk])).content.decode()
    assert not TaskRun.objects.exists()
    response = as_admin.post(reverse("periodic_tasks:run", args=[task.pk]))
    run = TaskRun.objects.get()
    assert (run.task_name, run.status, run.requested_by.email) == (
        "moderation.tasks.expire_claims",
        TaskRun.Status.SUCCEEDED,
        response.wsgi_request.user.email,
    )
    assert response["Location"] == f"{reverse('task_runs:index')}?task_name=moderation.tasks.expire_claims"
    listing = as_admin.get(response["Location"]).content.decode()
    assert "moderation.tasks.expire_claims" in listing and response.wsgi_request.user.email in listing


def test_run_now_passes_the_schedules_arguments(as_admin):
    task = PeriodicTask.objects.get(task="reporting.tasks.rollup_daily")
    task.kwargs = '{"days": 2}'
    task.save()
    as_admin.post(reverse("periodic_tasks:run", args=[task.pk]))
    assert TaskRun.objects.get().rows == 2


def test_a_run_now_that_fails_says_so_and_is_recorded(as_admin):
    task = PeriodicTask.objects.get(task="reporting.tasks.rollup_daily")
    task.kwargs = '{"days": 0}'
    task.save()
    response = as_admin.post(reverse("periodic_tasks:run", args=[task.pk]), follow=True)
    assert response.status_code == 200
    assert "is failed" in response.content.decode()
    assert TaskRun.objects.get().status == TaskRun.Status.FAILED


def test_a_queued_run_shows_before_a_worker_takes_it(monkeypatch):
    monkeypatch.setattr(app.tasks["moderation.tasks.expire_claims"], "apply_async", lambda *a, **k: None)
    run = jobs.run_now(task_name="moderation.tasks.expire_claims")
    assert run.status == TaskRun.Status.QUEUED
    # The worker then fills in the same row.
    monkeypatch.undo()
    app.tasks["moderation.tasks.expire_claims"].apply(task_id=run.task_id)
    assert list(TaskRun.objects.values_list("pk", "status")) == [(run.pk, TaskRun.Status.SUCCEEDED)]


def test_run_now_with_the_broker_down_records_why(monkeypatch):
    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(app.tasks["moderation.tasks.expire_claims"], "apply_async", broker_down)
    run = jobs.run_now(task_name="moderation.tasks.expire_claims")
    assert run.status == TaskRun.Status.FAILED and "Could not be queued" in run.error


def test_run_now_refuses_a_task_that_is_not_a_job():
    with pytest.raises(jobs.PermanentJobError):
        jobs.run_now(task_name="os.system")


def test_moderators_cannot_run_a_schedule(client):
    task = PeriodicTask.objects.get(task="moderation.tasks.expire_claims")
    client.force_login(moderator())
    assert client.post(reverse("periodic_tasks:run", args=[task.pk])).status_code in (302, 403)
    assert not TaskRun.objects.exists()


# Alerts


def test_a_job_that_fails_for_good_alerts_the_admins_once():
    boss = admin()
    for _ in range(2):
        with pytest.raises(jobs.PermanentJobError):
            tasks.rollup_daily.delay(days=0)
    alert = Notification.objects.get(user=boss)
    assert alert.subject == "Job reporting.tasks.rollup_daily failed"
    assert "days" in alert.body and "/admin/task_runs/?status=failed" in alert.body
    assert StaffAlert.objects.get().repeats == 1


def test_a_retried_attempt_does_not_alert_until_the_last_one(monkeypatch):
    admin()
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 2:
            raise OSError("network down")
        return 0

    job = jobs._Job("test.flaky", flaky, 3, 0, ())
    with pytest.raises(jobs._RetryLater):
        jobs._run_once(job, 0, 0, "id-1", (), {})
    jobs._run_once(job, 1, 0, "id-1", (), {})
    assert not Notification.objects.exists()


# Missed schedules


def test_an_interval_schedule_that_succeeded_recently_is_not_missed():
    PeriodicTask.objects.all().delete()
    schedule("often", "moderation.tasks.expire_claims", every=5)
    succeeded("moderation.tasks.expire_claims", ago=datetime.timedelta(minutes=9))
    assert schedules.missed_schedules(NOW) == []


def test_an_interval_schedule_without_a_success_within_twice_its_interval_is_missed():
    PeriodicTask.objects.all().delete()
    task = schedule("often", "moderation.tasks.expire_claims", every=5)
    succeeded("moderation.tasks.expire_claims", ago=datetime.timedelta(minutes=11))
    assert [(t.pk, gap) for t, gap, _ in schedules.missed_schedules(NOW)] == [(task.pk, datetime.timedelta(minutes=5))]


def test_a_daily_crontab_is_missed_after_two_days():
    PeriodicTask.objects.all().delete()
    crontab = CrontabSchedule.objects.create(minute="0", hour="1", timezone="UTC")
    schedule("nightly", "reporting.tasks.rollup_daily", crontab=crontab)
    succeeded("reporting.tasks.rollup_daily", ago=datetime.timedelta(hours=47))
    assert schedules.missed_schedules(NOW) == []
    two_hours_later = NOW + datetime.timedelta(hours=2)
    [(_, gap, _)] = schedules.missed_schedules(two_hours_later)
    assert gap == datetime.timedelta(days=1)


def test_a_schedule_beat_never_sent_is_missed_once_two_intervals_passed():
    PeriodicTask.objects.all().delete()
    task = schedule("often", "moderation.tasks.expire_claims", every=5)
    assert schedules.missed_schedules(NOW) == []
    PeriodicTask.objects.filter(pk=task.pk).update(date_changed=NOW - datetime.timedelta(minutes=11))
    assert len(schedules.missed_schedules(NOW)) == 1


def test_a_schedule_sent_but_never_recorded_is_missed():
    """Beat sends it, but no worker records a success (worker down, or the job always fails)."""
    PeriodicTask.objects.all().delete()
    schedule("often", "moderation.tasks.expire_claims", every=5, total_run_count=4, last_run_at=NOW)
    assert len(schedules.missed_schedules(NOW)) == 1


def test_disabled_schedules_are_never_missed():
    PeriodicTask.objects.all().delete()
    schedule("off", "moderation.tasks.expire_claims", every=5, enabled=False, total_run_count=9, last_run_at=NOW)
    assert schedules.missed_schedules(NOW) == []


def test_the_check_alerts_admins_about_each_missed_schedule():
    boss = admin()
    PeriodicTask.objects.all().delete()
    schedule("Claims cleanup", "moderation.tasks.expire_claims", every=5, total_run_count=4, last_run_at=NOW)
    assert tasks.check_schedules.delay().get() == ["Claims cleanup"]
    alert = Notification.objects.get(user=boss)
    assert alert.subject == "Schedule 'Claims cleanup' has not succeeded on time"
    assert "Last success: never" in alert.body
    assert TaskRun.objects.get(task_name="reporting.tasks.check_schedules").status == TaskRun.Status.SUCCEEDED


# Pruning


def test_old_runs_are_pruned_after_the_retention_period(settings):
    settings.TASK_RUN_RETENTION_DAYS = 30
    succeeded("old", ago=datetime.timedelta(days=31))
    succeeded("recent", ago=datetime.timedelta(days=29))
    from backoffice.tasks import prune_task_runs

    assert prune_task_runs.delay().get() == 1
    assert sorted(TaskRun.objects.values_list("task_name", flat=True)) == ["backoffice.tasks.prune_task_runs", "recent"]


def test_unconfirmed_upload_previews_are_pruned_daily_by_a_recorded_job():
    app.loader.import_default_modules()
    task = PeriodicTask.objects.get(task="catalog.tasks.prune_upload_checks")
    assert (task.enabled, task.crontab.hour, task.crontab.minute) == (True, "3", "35")
    assert app.tasks["catalog.tasks.prune_upload_checks"].delay().get() == 0
    assert TaskRun.objects.get(task_name="catalog.tasks.prune_upload_checks").status == TaskRun.Status.SUCCEEDED
