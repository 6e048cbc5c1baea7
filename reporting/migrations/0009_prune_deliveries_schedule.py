"""Schedule the pruning of old deliveries (sent and failed emails and SMS), beside the pruning of old task runs."""

from django.db import migrations

from backoffice.schedule_migrations import Schedule, register_schedules


class Migration(migrations.Migration):
    dependencies = [("reporting", "0008_merge_commerce")]

    operations = [
        register_schedules(
            Schedule(
                "Prune old deliveries",
                "backoffice.tasks.prune_deliveries",
                "Deletes sent and failed emails and SMS older than DELIVERY_RETENTION_DAYS (90 by default); "
                "those still waiting are kept.",
                crontab={"minute": "25", "hour": "3"},
            ),
        )
    ]
