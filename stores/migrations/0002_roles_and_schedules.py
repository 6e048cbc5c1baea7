"""Give Admins the store-operations permissions and schedule the store jobs (Admins edit them under Schedules)."""

from django.db import migrations

from backoffice.roles import sync_roles
from backoffice.schedule_migrations import Schedule, register_schedules


class Migration(migrations.Migration):
    dependencies = [
        ("stores", "0001_store_operations"),
        ("backoffice", "0008_merge_0006_login_attempt_windows_0007_run_now"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.RunPython(sync_roles, migrations.RunPython.noop),
        register_schedules(
            Schedule(
                "Repricing run",
                "stores.tasks.run_repricing",
                "Computes every product's target price from its repricing rule; live rules change prices, suggest "
                "rules leave suggestions for an Admin.",
                interval=(60, "minutes"),
            ),
            Schedule(
                "Marketplace orders import",
                "stores.tasks.import_marketplace_orders",
                "Imports new orders from each store's marketplace order feed.",
                interval=(15, "minutes"),
            ),
            Schedule(
                "Competitor listings import",
                "stores.tasks.import_competitor_listings",
                "Imports each active competitor shop's listings (CSV, JSON or XML).",
                interval=(60, "minutes"),
            ),
        ),
    ]
