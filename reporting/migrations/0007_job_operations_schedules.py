"""Schedule the job operations: the delivery retry sweep, the missed-schedule check and the pruning of old runs.

Admins edit these under Schedules afterwards; this migration only creates missing ones.
"""

from django.db import migrations

from backoffice.schedule_migrations import Schedule, register_schedules


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0006_move_taskrun_to_backoffice"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        register_schedules(
            Schedule(
                "Delivery retry sweep",
                "backoffice.tasks.retry_deliveries",
                "Sends again the emails and SMS whose retry time has come (see Deliveries).",
                interval=(1, "minutes"),
            ),
            Schedule(
                "Missed schedule check",
                "reporting.tasks.check_schedules",
                "Alerts Admins about every schedule with no successful run within twice its interval.",
                interval=(15, "minutes"),
            ),
            Schedule(
                "Prune old task runs",
                "backoffice.tasks.prune_task_runs",
                "Deletes task runs older than TASK_RUN_RETENTION_DAYS (30 by default).",
                crontab={"minute": "15", "hour": "3"},
            ),
        )
    ]
