"""Schedule the nightly reconciliation with django-celery-beat (Admins can change it under Schedules)."""

from django.db import migrations
from django.utils import timezone

NAME = "Reconcile balances and campaign counters"


def register_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    if PeriodicTask.objects.filter(name=NAME).exists():
        return
    nightly, _ = CrontabSchedule.objects.get_or_create(
        minute="30", hour="3", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    PeriodicTask.objects.create(
        name=NAME,
        task="growth.tasks.reconcile",
        crontab=nightly,
        enabled=True,
        kwargs="{}",
        args="[]",
        description="Checks every balance against its ledger entries and every campaign's uses and budget against "
        "its live redemptions; alerts the Admins on any difference. Changes nothing.",
    )
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def unregister_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("growth", "0005_stacking_carts_vouchers_and_voids"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(register_schedule, unregister_schedule)]
