"""Schedule the job operations: the delivery retry sweep, the missed-schedule check and the pruning of old runs.

Admins edit these under Schedules afterwards; this migration only creates missing ones.
"""

from django.conf import settings
from django.db import migrations
from django.utils import timezone

SCHEDULES = [
    # name, task, schedule, description
    (
        "Delivery retry sweep",
        "backoffice.tasks.retry_deliveries",
        {"interval": {"every": 1, "period": "minutes"}},
        "Sends again the emails and SMS whose retry time has come (see Deliveries).",
    ),
    (
        "Missed schedule check",
        "reporting.tasks.check_schedules",
        {"interval": {"every": 15, "period": "minutes"}},
        "Alerts Admins about every schedule with no successful run within twice its interval.",
    ),
    (
        "Prune old task runs",
        "backoffice.tasks.prune_task_runs",
        {"crontab": {"minute": "15", "hour": "3"}},
        "Deletes task runs older than TASK_RUN_RETENTION_DAYS (30 by default).",
    ),
]


def register_schedules(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    for name, task, schedule, description in SCHEDULES:
        if PeriodicTask.objects.filter(name=name).exists():
            continue
        fields = {}
        if "crontab" in schedule:
            fields["crontab"], _ = CrontabSchedule.objects.get_or_create(
                day_of_week="*",
                day_of_month="*",
                month_of_year="*",
                timezone=settings.CELERY_TIMEZONE,
                **schedule["crontab"],
            )
        else:
            fields["interval"], _ = IntervalSchedule.objects.get_or_create(**schedule["interval"])
        PeriodicTask.objects.create(
            name=name, task=task, enabled=True, description=description, kwargs="{}", args="[]", **fields
        )
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def unregister_schedules(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[name for name, *_ in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0006_move_taskrun_to_backoffice"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(register_schedules, unregister_schedules)]
