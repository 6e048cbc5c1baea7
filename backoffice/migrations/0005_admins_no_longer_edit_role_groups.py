from django.db import migrations

from backoffice.roles import sync_roles


class Migration(migrations.Migration):
    """Admins lose auth.view_group/change_group: only superusers edit role groups (backoffice.privilege)."""

    dependencies = [
        ("backoffice", "0004_user_signup_and_verification_indexes"),
        ("catalog", "0003_product_index_cleanup"),
        ("moderation", "0003_proof_submitted_at_index"),
        ("growth", "0004_schedule_referral_credit_catch_up"),
        ("reporting", "0005_weekly_app_stats_and_covering_indexes"),
    ]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
