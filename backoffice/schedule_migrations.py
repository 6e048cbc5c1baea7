"""The one way a data migration registers scheduled jobs with django-celery-beat.

    from backoffice.schedule_migrations import Schedule, register_schedules

    operations = [
        register_schedules(
            Schedule("Nightly thing", "app.tasks.thing", "What it does.", crontab={"minute": "0", "hour": "3"}),
        ),
    ]

Each schedule is created only when no periodic task has its name yet (Admins edit schedules under Schedules
afterwards, and a migration never overwrites their change); reversing deletes the tasks by name. Tasks are named,
not imported, so a migration never loads task code.

Migrations are history and call this module: keep its behaviour for existing calls exactly as it is. Add an
option only with a default that leaves every existing call unchanged, and never rename or remove one.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.db import migrations
from django.utils import timezone


@dataclass(frozen=True)
class Schedule:
    """One periodic task: every `interval` (e.g. (15, "minutes")) or on a `crontab` (minute and hour; the day
    fields default to "*")."""

    name: str
    task: str
    description: str
    interval: tuple[int, str] | None = None
    crontab: dict = field(default_factory=dict)
    enabled: bool = True
    crontab_timezone: str = ""  # empty: settings.CELERY_TIMEZONE when the migration runs

    def __post_init__(self):
        if (self.interval is None) == (not self.crontab):
            raise ValueError(f"Schedule {self.name!r} needs an interval or a crontab, not both")


def _create_missing(apps, schedules):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    created = 0
    for schedule in schedules:
        if PeriodicTask.objects.filter(name=schedule.name).exists():
            continue
        when = {}
        if schedule.interval is not None:
            every, period = schedule.interval
            when["interval"], _ = IntervalSchedule.objects.get_or_create(every=every, period=period)
        else:
            when["crontab"], _ = CrontabSchedule.objects.get_or_create(
                **{"day_of_week": "*", "day_of_month": "*", "month_of_year": "*"} | schedule.crontab,
                timezone=schedule.crontab_timezone or settings.CELERY_TIMEZONE,
            )
        PeriodicTask.objects.create(
            name=schedule.name,
            task=schedule.task,
            enabled=schedule.enabled,
            description=schedule.description,
            kwargs="{}",
            args="[]",
            **when,
        )
        created += 1
    return created


def register_schedules(*schedules):
    """A RunPython operation creating the missing `schedules`; reversed, it deletes them by name."""

    def register(apps, schema_editor):
        if _create_missing(apps, schedules):
            # Tell a running beat to re-read the schedules.
            PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
            PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})

    def unregister(apps, schema_editor):
        PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
        PeriodicTask.objects.filter(name__in=[schedule.name for schedule in schedules]).delete()

    return migrations.RunPython(register, unregister)
