from django.db import migrations

from backoffice.roles import sync_roles


class Migration(migrations.Migration):
    """Admins create, see and revoke data API clients."""

    dependencies = [
        ("integrations", "0001_data_api_clients"),
        ("commerce", "0002_commerce_roles"),
    ]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
