from django.db import migrations

from backoffice.roles import sync_roles


class Migration(migrations.Migration):
    """Admins register webhook endpoints and read and replay deliveries."""

    dependencies = [("integrations", "0003_webhooks")]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
