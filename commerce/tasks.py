"""Celery tasks of commerce, scheduled with django-celery-beat.

Plain shared tasks for now; they move to `backoffice.jobs.recorded_task` once that lands on main.
"""

from celery import shared_task

from . import plans


@shared_task(name="commerce.tasks.expire_subscriptions")
def expire_subscriptions():
    """Mark subscriptions past their end as expired (see plans.expire_subscriptions)."""
    return plans.expire_subscriptions()
