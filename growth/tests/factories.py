import itertools
from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from growth.models import Campaign


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Campaign {n}")
    discount_kind = Campaign.DiscountKind.PERCENT
    discount_value = Decimal("10")
    min_cart_total = Decimal("0")
    starts_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    ends_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))
    per_user_limit = 1


_keys = itertools.count()


def redeem(user, campaign, cart_total=None, app=None, key=None, cart_reference=None, expected_points_cost=None):
    """Redeem through the service as the public site would, each call on its own cart unless told otherwise."""
    from growth.campaigns import redeem_campaign

    key = key or f"key-{next(_keys)}"
    if cart_total is None and not (app is not None and app.credit_price):
        cart_total = "100"  # a declared cart; an app we price is its own cart total
    return redeem_campaign(
        user=user,
        campaign=campaign,
        cart_total=cart_total,
        app=app,
        cart_reference=cart_reference if cart_reference is not None else f"order-{key}",
        expected_points_cost=campaign.points_cost if expected_points_cost is None else expected_points_cost,
        idempotency_key=key,
    )
