"""Schedule the pruning of the rows that unconfirmed product upload previews checked."""

from django.db import migrations

from backoffice.schedule_migrations import Schedule, register_schedules


class Migration(migrations.Migration):
    dependencies = [("reporting", "0009_prune_deliveries_schedule")]

    operations = [
        register_schedules(
            Schedule(
                "Prune unconfirmed upload previews",
                "catalog.tasks.prune_upload_checks",
                "Deletes the rows a product upload's preview checked when nobody confirmed it within "
                "PRODUCT_UPLOAD_CHECK_RETENTION_DAYS (7 by default); a later confirm checks the file again.",
                crontab={"minute": "35", "hour": "3"},
            ),
        )
    ]
