from django.db import migrations

from backoffice.roles import sync_roles


class Migration(migrations.Migration):
    """Groups hold exactly their role's permissions: drop the page permissions Wagtail gave 'Moderators'."""

    dependencies = [
        ("backoffice", "0002_role_groups"),
        ("wagtailcore", "0002_initial_data"),
        ("reporting", "0003_schedules_and_roles"),
    ]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
