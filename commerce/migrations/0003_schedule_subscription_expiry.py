"""Schedule the subscription expiry with django-celery-beat (Admins can change it under Schedules)."""

from django.db import migrations

from backoffice.schedule_migrations import Schedule, register_schedules


class Migration(migrations.Migration):
    dependencies = [
        ("commerce", "0002_commerce_roles"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        register_schedules(
            Schedule(
                "Subscription expiry",
                "commerce.tasks.expire_subscriptions",
                "Marks plan subscriptions past their end as expired, which ends their perks. Idempotent.",
                interval=(15, "minutes"),
            )
        )
    ]
