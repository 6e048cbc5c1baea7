"""Demo campaigns and referrals."""

from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone

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
    members = list(get_user_model().objects.filter(is_staff=False).order_by("pk")[:120])
    referrers, referred = members[:20], members[20:]
    Referral.objects.bulk_create(
        [Referral(referrer=referrers[i % len(referrers)], referred=user) for i, user in enumerate(referred)],
        ignore_conflicts=True,
    )
    out(f"growth: {Campaign.objects.count()} campaigns, {Referral.objects.count()} referrals")
