"""Periodic jobs of the reporting app (scheduled in the database by django-celery-beat)."""

import datetime
from urllib.parse import quote

from django.utils import timezone

from backoffice.alerts import alert_staff
from backoffice.jobs import recorded_task

from . import schedules, services


def _as_date(value, name):
    if value is None or isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError as exc:
        raise services.PermanentJobError(f"`{name}` must be a date as YYYY-MM-DD, not {value!r}.") from exc


@recorded_task(name="reporting.tasks.rollup_daily")
def rollup_daily(day=None, days=1):
    """Roll up `day` (default: yesterday) and the `days - 1` days before it, so late changes are picked up."""
    last = _as_date(day, "day") or timezone.localdate() - datetime.timedelta(days=1)
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 366:
        raise services.PermanentJobError(f"`days` must be a whole number from 1 to 366, not {days!r}.")
    return services.rollup_days(start=last - datetime.timedelta(days=days - 1), end=last)


@recorded_task(name="reporting.tasks.download_daily_list")
def download_daily_list(url=None, list_date=None):
    """Fetch the daily list from `url` (default: the DAILY_LIST_URL setting) and store its rows."""
    return services.download_daily_list(url=url, list_date=_as_date(list_date, "list_date"))


@recorded_task(name="reporting.tasks.check_schedules", max_retries=1)
def check_schedules():
    """Alert Admins about each schedule with no successful run within twice its gap; returns their names."""
    missed = schedules.missed_schedules()
    for task, gap, succeeded in missed:
        last = f"{succeeded:%Y-%m-%d %H:%M %Z}" if succeeded else "never"
        alert_staff(
            kind="schedule_missed",
            subject=f"Schedule '{task.name}' has not succeeded on time",
            body=(
                f"{task.task} runs every {gap} or so, and should have succeeded within "
                f"{schedules.MISSED_AFTER_GAPS * gap}. Last success: {last}. Check Task runs for its errors, "
                "and that the Celery worker and beat are running."
            ),
            url=f"/admin/task_runs/?task_name={quote(task.task)}",
        )
    return [task.name for task, _, _ in missed]
