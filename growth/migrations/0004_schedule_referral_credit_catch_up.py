"""Schedule the referral credit catch-up with django-celery-beat (Admins can change it under Schedules)."""

from django.db import migrations

from backoffice.schedule_migrations import Schedule, register_schedules


class Migration(migrations.Migration):
    dependencies = [
        ("growth", "0003_referral_credited_at_index"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        register_schedules(
            Schedule(
                "Referral credit catch-up",
                "growth.tasks.credit_waiting_referrals",
                "Credits referrers whose referral was not credited when the phone was verified "
                "(the credit failed then). Credits each referral once, however often it runs.",
                interval=(15, "minutes"),
            )
        )
    ]
