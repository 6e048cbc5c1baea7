"""Celery tasks of the growth app, scheduled with django-celery-beat."""

from celery import shared_task

from . import services


@shared_task(name="growth.tasks.credit_waiting_referrals")
def credit_waiting_referrals():
    """Pay referral credits that failed when the phone was verified (see services.credit_waiting_referrals)."""
    return services.credit_waiting_referrals()
