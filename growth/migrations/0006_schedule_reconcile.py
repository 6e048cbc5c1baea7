"""Schedule the nightly reconciliation with django-celery-beat (Admins can change it under Schedules)."""

from django.db import migrations

from backoffice.schedule_migrations import Schedule, register_schedules


class Migration(migrations.Migration):
    dependencies = [
        ("growth", "0005_stacking_carts_vouchers_and_voids"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        register_schedules(
            Schedule(
                "Reconcile balances and campaign counters",
                "growth.tasks.reconcile",
                "Checks every balance against its ledger entries and every campaign's uses and budget against "
                "its live redemptions; alerts the Admins on any difference. Changes nothing.",
                crontab={"minute": "30", "hour": "3"},
                crontab_timezone="UTC",
            )
        )
    ]
