"""TaskRun joins backoffice (its table was renamed by reporting 0006, rows kept), and staff alerts are recorded."""

import django.utils.timezone
from django.db import migrations, models

from backoffice.roles import sync_roles


def move_content_type(apps, schema_editor):
    """Keep TaskRun's permissions (and the groups holding them) by moving its content type to backoffice."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    old = ContentType.objects.filter(app_label="reporting", model="taskrun").first()
    if old is None:
        return
    ContentType.objects.filter(app_label="backoffice", model="taskrun").delete()
    old.app_label = "backoffice"
    old.save(update_fields=["app_label"])


def move_content_type_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="backoffice", model="taskrun").update(app_label="reporting")


class Migration(migrations.Migration):
    dependencies = [
        ("backoffice", "0004_user_signup_and_verification_indexes"),
        ("reporting", "0006_move_taskrun_to_backoffice"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="TaskRun",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("task_name", models.CharField(db_index=True, max_length=200)),
                        ("task_id", models.CharField(blank=True, max_length=255)),
                        ("started_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                        ("finished_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("running", "Running"),
                                    ("succeeded", "Succeeded"),
                                    ("failed", "Failed"),
                                    ("retrying", "Failed, will retry"),
                                ],
                                default="running",
                                max_length=10,
                            ),
                        ),
                        ("attempt", models.PositiveIntegerField(default=1)),
                        ("rows", models.PositiveIntegerField(default=0)),
                        ("error", models.TextField(blank=True)),
                    ],
                    options={"ordering": ["-started_at"]},
                ),
            ],
        ),
        migrations.RunPython(move_content_type, move_content_type_back),
        migrations.AddIndex(
            model_name="taskrun",
            index=models.Index(fields=["task_name", "status", "started_at"], name="taskrun_last_by_status"),
        ),
        migrations.CreateModel(
            name="StaffAlert",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(db_index=True, max_length=50)),
                ("subject", models.CharField(max_length=200)),
                ("body", models.TextField(blank=True)),
                ("url", models.CharField(blank=True, max_length=500)),
                ("groups", models.JSONField(default=list)),
                ("raised_at", models.DateTimeField(auto_now_add=True)),
                ("last_raised_at", models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                ("repeats", models.PositiveIntegerField(default=0)),
            ],
            options={"ordering": ["-last_raised_at"]},
        ),
        migrations.RunPython(sync_roles, migrations.RunPython.noop),
    ]
