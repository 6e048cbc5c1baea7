from decimal import Decimal

import factory
from django.utils import timezone

from backoffice.tests.factories import numbered
from catalog.models import Competitor
from catalog.tests.factories import ProductFactory, StoreFactory
from stores.models import (
    Client,
    CompetitorListing,
    CompetitorStore,
    MarketplaceAccount,
    ProductStock,
    RepricingRule,
    SalesPoint,
)


class SalesPointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SalesPoint

    store = factory.SubFactory(StoreFactory)
    name = numbered("Point")
    address = "1 Market Street"


class ProductStockFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductStock

    product = factory.SubFactory(ProductFactory)
    sales_point = factory.SubFactory(SalesPointFactory, store=factory.SelfAttribute("..product.store"))
    quantity = 10


class ClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Client

    store = factory.SubFactory(StoreFactory)
    name = numbered("Client")
    phone = factory.Sequence(lambda n: f"+7700{n:07d}")
    city = "Almaty"


class CompetitorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Competitor

    name = numbered("Competitor")


class CompetitorStoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CompetitorStore

    competitor = factory.SubFactory(CompetitorFactory)
    store = factory.SubFactory(StoreFactory)
    name = numbered("Shop")


class CompetitorListingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CompetitorListing

    product = factory.SubFactory(ProductFactory)
    competitor_store = factory.SubFactory(CompetitorStoreFactory, store=factory.SelfAttribute("..product.store"))
    external_id = factory.Sequence(lambda n: f"ext-{n}")
    sku = factory.LazyAttribute(lambda o: o.product.sku if o.product else "")
    price = Decimal("18.00")
    in_stock = True
    seen_at = factory.LazyFunction(timezone.now)
    first_seen_at = factory.LazyAttribute(lambda o: o.seen_at)


class RepricingRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RepricingRule

    store = factory.SubFactory(StoreFactory)
    floor = Decimal("10.00")
    ceiling = Decimal("30.00")
    strategy = RepricingRule.Strategy.BEAT_BY_AMOUNT
    beat_by = Decimal("0.50")
    step = Decimal("0.01")
    mode = RepricingRule.Mode.LIVE


class MarketplaceAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MarketplaceAccount

    store = factory.SubFactory(StoreFactory)
