"""Celery tasks of the growth app, each recorded as TaskRun rows (scheduled with django-celery-beat)."""

from backoffice.jobs import recorded_task

from . import services


@recorded_task(name="growth.tasks.credit_waiting_referrals")
def credit_waiting_referrals():
    """Pay referral credits that failed when the phone was verified (see services.credit_waiting_referrals)."""
    return services.credit_waiting_referrals()
