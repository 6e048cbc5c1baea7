from django.db import migrations

from backoffice.roles import sync_roles


class Migration(migrations.Migration):
    dependencies = [
        ("backoffice", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("wagtailadmin", "0003_admin_managed"),
        ("wagtailimages", "0027_image_description"),
        ("wagtaildocs", "0014_alter_document_file_size"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
        ("catalog", "0001_initial"),
        ("moderation", "0001_initial"),
        ("growth", "0001_initial"),
        ("reporting", "0001_initial"),
    ]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
