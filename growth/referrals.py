"""Write paths of referrals: link visits, the referral link between two members, and the referrer's bonus."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from backoffice.services import notify_user
from moderation.ledger import post_entry
from moderation.models import RewardEntry

from . import selectors
from .errors import ReferralRefused
from .models import Referral, ReferralVisit, ReferrerScore


def find_referrer(*, code):
    """The active user owning referral `code`, or None."""
    code = (code or "").strip()
    if not code:
        return None
    return get_user_model().objects.filter(referral_code=code, is_active=True).first()


def record_referral_visit(*, code):
    """Someone opened /r/<code>/: count it for the referrer. Returns the referrer or None for an unknown code."""
    referrer = find_referrer(code=code)
    if referrer is not None:
        ReferralVisit.objects.create(referrer=referrer)
    return referrer


def create_referral(*, referrer, referred):
    """Link `referred` to `referrer`. Refused for self-referral, a second referral, and cycles."""
    if referrer.pk == referred.pk:
        raise ReferralRefused("You cannot refer yourself.")
    if Referral.objects.filter(referred=referred).exists():
        raise ReferralRefused("This account was already referred.")
    ancestor, seen = referrer.pk, set()
    while ancestor is not None and ancestor not in seen:
        if ancestor == referred.pk:
            raise ReferralRefused("Referral cycles are not allowed.")
        seen.add(ancestor)
        ancestor = Referral.objects.filter(referred_id=ancestor).values_list("referrer_id", flat=True).first()
    try:
        with transaction.atomic():
            referral = Referral.objects.create(referrer=referrer, referred=referred)
    except IntegrityError as exc:
        raise ReferralRefused("This account was already referred.") from exc
    notify_user(
        referrer,
        f"{selectors.public_name(referred)} signed up with your link",
        f"You get {settings.REFERRAL_BONUS_POINTS} points once both of you have verified a phone number.",
    )
    return referral


def credit_referral(*, referral):
    """Post the referrer's bonus once, when the referred user's phone and the referrer's phone are both verified.

    Idempotent: the ledger's (kind, source) uniqueness and the locked referral row make a second call a no-op.
    Returns True when this call credited.
    """
    bonus = settings.REFERRAL_BONUS_POINTS
    with transaction.atomic():
        referral = Referral.objects.select_for_update().select_related("referrer", "referred").get(pk=referral.pk)
        if referral.credited_at is not None:
            return False
        if not (referral.referred.phone_verified and referral.referrer.phone_verified):
            return False
        post_entry(
            user=referral.referrer,
            amount=bonus,
            kind=RewardEntry.Kind.REFERRAL,
            source=referral,
            reason=f"Referred {selectors.public_name(referral.referred)}",
        )
        notify_user(
            referral.referrer,
            f"You earned {bonus} points",
            f"{selectors.public_name(referral.referred)} verified their phone: your referral bonus is in your balance.",
        )
        now = timezone.now()
        Referral.objects.filter(pk=referral.pk).update(credited_at=now)
        score, _ = ReferrerScore.objects.get_or_create(user_id=referral.referrer_id)
        ReferrerScore.objects.filter(pk=score.pk).update(
            credited_referrals=F("credited_referrals") + 1, last_credited_at=now
        )
        transaction.on_commit(selectors.invalidate_leaderboard)
    return True


def credit_waiting_referrals(*, user=None):
    """Credit every referral whose two phones are verified but which was never credited; only `user`'s (as
    referrer or referred) when given. Returns how many it credited.

    Called for the user right after a phone verification, and for everyone by the scheduled catch-up, which pays
    a credit that failed at verification. Safe to run at any time: credit_referral is idempotent.
    """
    waiting = Referral.objects.filter(
        credited_at__isnull=True,
        referred__phone_verified_at__isnull=False,
        referrer__phone_verified_at__isnull=False,
    ).order_by("pk")
    if user is not None:
        waiting = waiting.filter(Q(referred=user) | Q(referrer=user))
    return sum(credit_referral(referral=referral) for referral in waiting)
