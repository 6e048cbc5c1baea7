"""Celery tasks of the growth app, each recorded as TaskRun rows (scheduled with django-celery-beat)."""

from backoffice.jobs import recorded_task

from . import reconciliation, referrals


@recorded_task(name="growth.tasks.credit_waiting_referrals")
def credit_waiting_referrals():
    """Pay referral credits that failed when the phone was verified (see referrals.credit_waiting_referrals)."""
    return referrals.credit_waiting_referrals()


@recorded_task(name="growth.tasks.reconcile")
def reconcile():
    """Check every balance against its ledger entries and every campaign's counters against its redemptions."""
    return reconciliation.reconcile()
