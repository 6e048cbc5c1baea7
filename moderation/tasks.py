"""Celery tasks of moderation, each recorded as TaskRun rows (scheduled with django-celery-beat)."""

from backoffice.jobs import recorded_task

from . import claims


@recorded_task(name="moderation.tasks.expire_claims")
def expire_claims():
    """Free moderation claims whose time ran out, so abandoned proofs return to the queue."""
    return claims.expire_claims()
