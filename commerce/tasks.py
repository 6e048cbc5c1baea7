"""Celery tasks of commerce, each recorded as TaskRun rows (scheduled with django-celery-beat)."""

from backoffice.jobs import recorded_task

from . import plans


@recorded_task(name="commerce.tasks.expire_subscriptions")
def expire_subscriptions():
    """Mark subscriptions past their end as expired (see plans.expire_subscriptions)."""
    return plans.expire_subscriptions()
