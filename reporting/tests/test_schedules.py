import datetime

import pytest
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from reporting.schedules import next_run_at, registered_task_names

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 5, 10, 12, 0, tzinfo=datetime.UTC)


def interval_task(**fields):
    every = IntervalSchedule.objects.create(every=5, period="minutes")
    return PeriodicTask.objects.create(name="every five", task="reporting.tasks.rollup_daily", interval=every, **fields)


def test_an_interval_task_runs_next_one_interval_after_its_last_run():
    task = interval_task(last_run_at=NOW - datetime.timedelta(minutes=2))
    assert next_run_at(task, now=NOW) == NOW + datetime.timedelta(minutes=3)


def test_an_overdue_task_runs_now():
    task = interval_task(last_run_at=NOW - datetime.timedelta(hours=2))
    assert next_run_at(task, now=NOW) == NOW


def test_a_crontab_task_runs_at_the_next_matching_minute(monkeypatch):
    crontab = CrontabSchedule.objects.create(minute="0", hour="1", timezone="UTC")
    task = PeriodicTask.objects.create(name="nightly", task="reporting.tasks.rollup_daily", crontab=crontab)
    now = datetime.datetime.now(datetime.UTC)
    expected = (now + datetime.timedelta(days=1 if now.hour >= 1 else 0)).replace(
        hour=1, minute=0, second=0, microsecond=0
    )
    assert next_run_at(task, now=now) == expected


@pytest.mark.parametrize(
    "fields",
    [
        {"enabled": False},
        {"one_off": True, "total_run_count": 1},
        {"expires": NOW - datetime.timedelta(minutes=1)},
    ],
)
def test_a_task_that_will_not_run_has_no_next_run(fields):
    assert next_run_at(interval_task(**fields), now=NOW) is None


def test_a_task_not_started_yet_runs_at_its_start_time():
    start = NOW + datetime.timedelta(days=3)
    assert next_run_at(interval_task(start_time=start, last_run_at=NOW), now=NOW) == start


def test_the_project_tasks_are_registered_by_name():
    assert {"reporting.tasks.rollup_daily", "reporting.tasks.download_daily_list"} <= set(registered_task_names())
