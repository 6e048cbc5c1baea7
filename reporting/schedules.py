"""Read helpers over django-celery-beat's schedules: when will a periodic task run next, which tasks exist."""

import datetime

from celery import schedules as celery_schedules
from django.utils import timezone

HALF_SECOND = datetime.timedelta(microseconds=500_000)


def next_run_at(periodic_task, now=None):
    """When beat will next send this task, estimated from its schedule and last run; None if it won't."""
    now = now or timezone.now()
    if not periodic_task.enabled:
        return None
    if periodic_task.one_off and periodic_task.total_run_count:
        return None
    if periodic_task.expires and periodic_task.expires <= now:
        return None
    try:
        schedule = periodic_task.schedule
    except Exception:  # a schedule row removed under it, or clocked/solar without its row
        return None
    if periodic_task.clocked_id:
        return periodic_task.clocked.clocked_time
    last_run_at = periodic_task.last_run_at or now
    if isinstance(schedule, celery_schedules.crontab):
        last, delta, _ = schedule.remaining_delta(last_run_at)
        next_run = last + delta
    else:
        next_run = last_run_at + schedule.run_every
    next_run = (max(next_run, now) + HALF_SECOND).replace(microsecond=0)
    if periodic_task.start_time and next_run < periodic_task.start_time:
        return periodic_task.start_time
    if periodic_task.expires and next_run >= periodic_task.expires:
        return None
    return next_run


def registered_task_names():
    """Names of the Celery tasks this code base defines (Celery's own `celery.*` tasks left out)."""
    from backoffice.celery import app

    app.loader.import_default_modules()
    return sorted(name for name in app.tasks if not name.startswith("celery."))
