from celery import shared_task

from . import services


@shared_task(name="moderation.tasks.expire_claims")
def expire_claims():
    """Free moderation claims whose time ran out, so abandoned proofs return to the queue."""
    return services.expire_claims()
