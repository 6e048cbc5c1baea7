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
