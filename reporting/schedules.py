"""Read helpers over django-celery-beat's schedules: when will a periodic task run next, which tasks exist."""

import datetime

from celery import schedules as celery_schedules
from django.db.models import Max
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from backoffice.models import TaskRun

HALF_SECOND = datetime.timedelta(microseconds=500_000)
CRONTAB_FIRES_SAMPLED = 8  # a crontab's gap is the longest between this many consecutive fire times
MISSED_AFTER_GAPS = 2  # a schedule is missed when it has not succeeded within this many of its gaps


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


def schedule_gap(periodic_task, now=None):
    """The longest time between two runs of the schedule (an interval's period; for a crontab, the longest gap
    between its next few fire times), or None for schedules without a period (clocked, solar)."""
    try:
        schedule = periodic_task.schedule
    except Exception:
        return None
    if periodic_task.interval_id:
        return schedule.run_every
    if not periodic_task.crontab_id:
        return None
    fires = [now or timezone.now()]
    for _ in range(CRONTAB_FIRES_SAMPLED):
        last, delta, _ = schedule.remaining_delta(fires[-1])
        fires.append(last + delta)
    return max(later - earlier for earlier, later in zip(fires[1:], fires[2:], strict=False))


def missed_schedules(now=None):
    """Enabled schedules with no successful run within twice their gap: [(periodic_task, gap, last success)].

    Without any success on record, the schedule counts from its first send by beat (estimated from its run
    count) or, never sent, from its last change: a stopped beat, a stopped worker and a job that always fails
    all show up here.
    """
    now = now or timezone.now()
    last_success = dict(
        TaskRun.objects.filter(status=TaskRun.Status.SUCCEEDED)
        .values("task_name")
        .annotate(last=Max("started_at"))
        .values_list("task_name", "last")
    )
    missed = []
    tasks = PeriodicTask.objects.filter(enabled=True, one_off=False).select_related("interval", "crontab")
    for task in tasks:
        if (task.start_time and task.start_time > now) or (task.expires and task.expires <= now):
            continue
        gap = schedule_gap(task, now)
        if gap is None:
            continue
        succeeded = last_success.get(task.task)
        if succeeded:
            since = succeeded
        elif task.total_run_count and task.last_run_at:
            since = task.last_run_at - (task.total_run_count - 1) * gap
        else:
            since = task.date_changed
        if now - since > MISSED_AFTER_GAPS * gap:
            missed.append((task, gap, succeeded))
    return missed
