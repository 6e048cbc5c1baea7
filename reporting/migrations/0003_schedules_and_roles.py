"""Register the project's periodic tasks with django-celery-beat (by task name: nothing is imported), and sync roles.

Admins edit these schedules in the Wagtail admin afterwards; this migration only creates missing ones.
"""

from django.conf import settings
from django.db import migrations

from backoffice.roles import sync_roles
from backoffice.schedule_migrations import Schedule, register_schedules

SCHEDULES = [
    Schedule(
        "Daily rollup of the dashboard figures",
        "reporting.tasks.rollup_daily",
        "Rolls up yesterday's figures (kwargs: day=YYYY-MM-DD to redo a past day, days=N to redo the N days up to it).",
        crontab={"minute": "0", "hour": "1"},
    ),
    Schedule(
        "Competitor price feed",
        "catalog.tasks.import_competitor_prices",
        "Imports the price feed of every active competitor that has a feed URL; does nothing when none has one.",
        interval=(1, "hours"),
    ),
    Schedule(
        "Expired moderation claims cleanup",
        "moderation.tasks.expire_claims",
        "Releases proofs whose moderator claim has expired, so others can review them.",
        interval=(5, "minutes"),
    ),
    Schedule(
        "Daily list download",
        "reporting.tasks.download_daily_list",
        "Downloads the daily list from DAILY_LIST_URL (or kwargs url=...), retrying with back-off. "
        "Enable it once a URL is configured.",
        crontab={"minute": "30", "hour": "2"},
        enabled=bool(settings.DAILY_LIST_URL),
    ),
]


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0002_rollups_and_daily_list"),
        ("backoffice", "0002_role_groups"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        register_schedules(*SCHEDULES),
        migrations.RunPython(sync_roles, migrations.RunPython.noop),
    ]
