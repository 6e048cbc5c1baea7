import itertools
from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from backoffice.tests.factories import numbered
from growth.models import Campaign


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign
        skip_postgeneration_save = True

    name = numbered("Campaign")
    discount_kind = Campaign.DiscountKind.PERCENT
    discount_value = Decimal("10")
    min_cart_total = Decimal("0")
    starts_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    ends_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))
    per_user_limit = 1

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        """Saved with its counter shards, as create_campaign leaves it (without create_campaign's validation, so
        tests can build the odd campaigns the services must refuse)."""
        from growth import campaign_counters

        campaign = super()._create(model_class, *args, **kwargs)
        campaign_counters.split_counters(campaign=campaign)
        return campaign


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


def force_counters(campaign, *, uses_count=None, budget_spent=None):
    """Set a campaign's counter totals by hand (as an edit in the database would): the difference goes to slot 0,
    whose share is raised to hold it."""
    from backoffice.counters import writing_counters
    from growth.models import CampaignCounterShard

    shards = list(CampaignCounterShard.objects.filter(campaign=campaign).order_by("slot"))
    first, others = shards[0], shards[1:]
    if uses_count is not None:
        first.uses_count = uses_count - sum(s.uses_count for s in others)
        if first.max_uses is not None:
            first.max_uses = max(first.max_uses, first.uses_count)
    if budget_spent is not None:
        first.budget_spent = Decimal(budget_spent) - sum((s.budget_spent for s in others), Decimal(0))
        if first.budget is not None:
            first.budget = max(first.budget, first.budget_spent)
    with writing_counters():
        first.save(update_fields=["uses_count", "max_uses", "budget_spent", "budget"])
