"""Register the project's periodic tasks with django-celery-beat (by task name: nothing is imported), and sync roles.

Admins edit these schedules in the Wagtail admin afterwards; this migration only creates missing ones.
"""

from django.conf import settings
from django.db import migrations
from django.utils import timezone

from backoffice.roles import sync_roles

SCHEDULES = [
    # name, task, schedule, enabled, description
    (
        "Daily rollup of the dashboard figures",
        "reporting.tasks.rollup_daily",
        {"crontab": {"minute": "0", "hour": "1"}},
        True,
        "Rolls up yesterday's figures (kwargs: day=YYYY-MM-DD to redo a past day, days=N to redo the N days up to it).",
    ),
    (
        "Competitor price feed",
        "catalog.tasks.import_competitor_prices",
        {"interval": {"every": 1, "period": "hours"}},
        True,
        "Imports the price feed of every active competitor that has a feed URL; does nothing when none has one.",
    ),
    (
        "Expired moderation claims cleanup",
        "moderation.tasks.expire_claims",
        {"interval": {"every": 5, "period": "minutes"}},
        True,
        "Releases proofs whose moderator claim has expired, so others can review them.",
    ),
    (
        "Daily list download",
        "reporting.tasks.download_daily_list",
        {"crontab": {"minute": "30", "hour": "2"}},
        bool(settings.DAILY_LIST_URL),
        "Downloads the daily list from DAILY_LIST_URL (or kwargs url=...), retrying with back-off. "
        "Enable it once a URL is configured.",
    ),
]


def register_schedules(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    for name, task, schedule, enabled, description in SCHEDULES:
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
            name=name, task=task, enabled=enabled, description=description, kwargs="{}", args="[]", **fields
        )
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def unregister_schedules(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[name for name, *_ in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0002_rollups_and_daily_list"),
        ("backoffice", "0002_role_groups"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.RunPython(register_schedules, unregister_schedules),
        migrations.RunPython(sync_roles, migrations.RunPython.noop),
    ]
