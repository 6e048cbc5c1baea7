"""TaskRun moves to the `backoffice` app (one job mechanism for every app): the table is renamed, rows kept.

The model leaves reporting's state here; backoffice's 0005 adds it to its own state over the renamed table.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0005_weekly_app_stats_and_covering_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.AlterModelTable(name="taskrun", table="backoffice_taskrun")],
            state_operations=[migrations.DeleteModel(name="TaskRun")],
        ),
    ]
