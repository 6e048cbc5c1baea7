from django.db import migrations

from backoffice.roles import sync_roles


class Migration(migrations.Migration):
    """Marketers (and Admins) edit the landing content; Moderators don't."""

    dependencies = [
        ("landing", "0001_landing_content"),
        ("backoffice", "0003_resync_role_groups"),
    ]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
