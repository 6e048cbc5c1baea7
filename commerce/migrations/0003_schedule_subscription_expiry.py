"""Schedule the subscription expiry with django-celery-beat (Admins can change it under Schedules)."""

from django.db import migrations
from django.utils import timezone

NAME = "Subscription expiry"


def register_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    if PeriodicTask.objects.filter(name=NAME).exists():
        return
    every_15_minutes, _ = IntervalSchedule.objects.get_or_create(every=15, period="minutes")
    PeriodicTask.objects.create(
        name=NAME,
        task="commerce.tasks.expire_subscriptions",
        interval=every_15_minutes,
        enabled=True,
        kwargs="{}",
        args="[]",
        description="Marks plan subscriptions past their end as expired, which ends their perks. Idempotent.",
    )
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def unregister_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("commerce", "0002_commerce_roles"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(register_schedule, unregister_schedule)]
