from django.db import migrations

from backoffice.roles import sync_roles


class Migration(migrations.Migration):
    """Admins view and refund purchases; Marketers edit plans; both see subscriptions."""

    dependencies = [
        ("commerce", "0001_purchases_and_plans"),
        ("backoffice", "0003_resync_role_groups"),
    ]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
