"""Demo campaigns and referrals."""

from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone

from . import services
from .models import Campaign, Referral

CAMPAIGNS = [
    {
        "name": "Welcome 10%",
        "discount_kind": "percent",
        "discount_value": Decimal("10"),
        "audience": "new",
        "max_uses": 1000,
    },
    {
        "name": "5 off over 50",
        "discount_kind": "fixed",
        "discount_value": Decimal("5"),
        "min_cart_total": Decimal("50"),
        "budget": Decimal("2500"),
    },
    {
        "name": "Loyal 20%",
        "discount_kind": "percent",
        "discount_value": Decimal("20"),
        "audience": "points",
        "min_points": 100,
        "points_cost": 50,
    },
]


def load(out):
    now = timezone.now()
    for spec in CAMPAIGNS:
        Campaign.objects.get_or_create(
            name=spec["name"],
            defaults={**spec, "starts_at": now - timedelta(days=7), "ends_at": now + timedelta(days=60)},
        )
    User = get_user_model()
    members = list(User.objects.filter(is_staff=False).order_by("pk")[:120])
    if len(members) < 40:
        out("growth: too few members for demo referrals")
        return
    referrers, referred = members[:20], members[20:]
    # i*i mod 20 skews the counts, so the leaderboard has a shape.
    Referral.objects.bulk_create(
        [Referral(referrer=referrers[(i * i) % len(referrers)], referred=user) for i, user in enumerate(referred)],
        ignore_conflicts=True,
    )
    # Demo members whose phones count as verified: the referrers and the first 60 people they referred.
    verified = [user.pk for user in referrers + referred[:60]]
    User.objects.filter(pk__in=verified, phone_verified_at__isnull=True).update(phone_verified_at=now)
    credited = sum(
        services.credit_referral(referral)
        for referral in Referral.objects.filter(credited_at__isnull=True, referred_id__in=verified)
    )
    out(
        f"growth: {Campaign.objects.count()} campaigns, {Referral.objects.count()} referrals "
        f"({credited} credited now, {Referral.objects.filter(credited_at__isnull=False).count()} in all)"
    )
