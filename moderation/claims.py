"""The moderation queue's claims: two moderators are never shown the same proof."""

from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from .models import ScreenshotProof
from .proofs import MODERATE_PERM, require_perm

CLAIM_MINUTES = 10


def _claimable(moderator, now):
    return ScreenshotProof.objects.filter(status=ScreenshotProof.Status.PENDING).filter(
        Q(claimed_by__isnull=True) | Q(claimed_until__lt=now) | Q(claimed_by=moderator)
    )


def claim_next_proof(*, moderator, filters=None, exclude_ids=(), minutes=CLAIM_MINUTES):
    """Claim the oldest pending proof nobody else holds, for `minutes`; the moderator's live claim comes first.

    `filters` is a dict of queryset lookups (app, user, age) from the queue's filter form. On PostgreSQL
    the candidate row is locked with SKIP LOCKED, so two moderators claiming at once get different proofs.
    Returns the proof, or None when the queue is empty.
    """
    require_perm(moderator, MODERATE_PERM)
    now = timezone.now()
    candidates = (
        _claimable(moderator, now)
        .filter(**(filters or {}))
        .exclude(pk__in=list(exclude_ids))
        .select_related("download__app", "download__user")
    )
    with transaction.atomic():
        held = candidates.filter(claimed_by=moderator, claimed_until__gte=now).order_by("submitted_at", "pk").first()
        if held is not None:
            return held
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True, of=("self",))
        proof = candidates.order_by("submitted_at", "pk").first()
        if proof is None:
            return None
        until = now + timedelta(minutes=minutes)
        claimed = _claimable(moderator, now).filter(pk=proof.pk).update(claimed_by=moderator, claimed_until=until)
        if not claimed:
            return None
        proof.claimed_by, proof.claimed_until = moderator, until
        return proof


def release_claim(*, proof, moderator):
    """Give a claimed proof back to the queue (e.g. the moderator skips it)."""
    return ScreenshotProof.objects.filter(pk=proof.pk, claimed_by=moderator).update(claimed_by=None, claimed_until=None)


def expire_claims(*, now=None):
    """Free claims whose time ran out; run periodically (task moderation.tasks.expire_claims). Returns how many."""
    now = now or timezone.now()
    return ScreenshotProof.objects.filter(claimed_until__lt=now).update(claimed_by=None, claimed_until=None)
