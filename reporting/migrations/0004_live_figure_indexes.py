"""Indexes on the other apps' timestamp columns that today's live dashboard figures filter on.

Finished days come from DailyStat; today is counted live with a range filter on each event's timestamp, which
without these indexes scans the whole table. Plain CREATE INDEX IF NOT EXISTS (PostgreSQL and SQLite): the
owning apps can move them into their models' Meta.indexes later and this migration then does nothing.
"""

from django.db import migrations

INDEXES = [
    ("reporting_live_proof_submitted", "moderation_screenshotproof", "submitted_at", ""),
    ("reporting_live_proof_reviewed", "moderation_screenshotproof", "reviewed_at", "reviewed_at IS NOT NULL"),
    ("reporting_live_user_joined", "backoffice_user", "date_joined", ""),
    ("reporting_live_user_verified", "backoffice_user", "phone_verified_at", "phone_verified_at IS NOT NULL"),
    ("reporting_live_referral_credited", "growth_referral", "credited_at", "credited_at IS NOT NULL"),
]


def create_sql(name, table, column, condition):
    where = f" WHERE {condition}" if condition else ""
    return f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({column}){where}"


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0003_schedules_and_roles"),
        ("backoffice", "0001_initial"),
        ("moderation", "0001_initial"),
        ("growth", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(create_sql(*index), f"DROP INDEX IF EXISTS {index[0]}", elidable=False) for index in INDEXES
    ]
