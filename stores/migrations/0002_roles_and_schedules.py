"""Give Admins the store-operations permissions and schedule the store jobs (created disabled when they need
a URL nobody has configured yet; Admins edit them under Schedules)."""

from django.db import migrations
from django.utils import timezone

from backoffice.roles import sync_roles

SCHEDULES = [
    # name, task, minutes between runs, description
    (
        "Repricing run",
        "stores.tasks.run_repricing",
        60,
        "Computes every product's target price from its repricing rule; live rules change prices, suggest rules "
        "leave suggestions for an Admin.",
    ),
    (
        "Marketplace orders import",
        "stores.tasks.import_marketplace_orders",
        15,
        "Imports new orders from each store's marketplace order feed.",
    ),
    (
        "Competitor listings import",
        "stores.tasks.import_competitor_listings",
        60,
        "Imports each active competitor shop's listings (CSV, JSON or XML).",
    ),
]


def register_schedules(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    for name, task, minutes, description in SCHEDULES:
        if PeriodicTask.objects.filter(name=name).exists():
            continue
        interval, _ = IntervalSchedule.objects.get_or_create(every=minutes, period="minutes")
        PeriodicTask.objects.create(name=name, task=task, interval=interval, enabled=True, description=description)
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def unregister_schedules(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__in=[s[0] for s in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("stores", "0001_store_operations"),
        ("backoffice", "0008_merge_0006_login_attempt_windows_0007_run_now"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.RunPython(sync_roles, migrations.RunPython.noop),
        migrations.RunPython(register_schedules, unregister_schedules),
    ]
