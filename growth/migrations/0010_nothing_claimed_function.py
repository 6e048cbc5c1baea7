"""A PL/pgSQL function the redeem path's insert calls when it claimed no counter shard (growth.redemption_sql): the
statement fails with SQLSTATE GR001, so a COMMIT sent in the same string does not commit the points debit before
it. PostgreSQL only: elsewhere the redeem path runs through the ORM."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION growth_nothing_claimed() RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RAISE EXCEPTION 'no counter shard with room was claimed' USING ERRCODE = 'GR001';
END
$$
"""
DROP = "DROP FUNCTION IF EXISTS growth_nothing_claimed()"


def on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("growth", "0009_campaign_counter_shards"),
    ]

    operations = [
        migrations.RunPython(on_postgresql(CREATE), on_postgresql(DROP), elidable=False),
    ]
