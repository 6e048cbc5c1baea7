"""Read paths of store operations: the price monitoring listing and the price list's content."""

from django.conf import settings
from django.db.models import Count, DecimalField, Exists, F, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from catalog.models import Product, ProductPriceChange

from .models import CompetitorListing, ProductStock, RepricingDecision, RepricingRule
from .repricing import offer_cutoff

MONITORING_FILTERS = {
    "undercut": "A competitor is cheaper",
    "at_floor": "At the floor",
    "stale": "Stale feed",
    "suggested": "Has a suggestion",
}


def monitoring_products(*, store=None, show=None, now=None):
    """Each product with our price, the lowest usable competitor price, our rank, when a competitor was last
    seen, its floor and the open suggestion: one query per page, however many products there are."""
    cutoff = offer_cutoff(now)
    usable = CompetitorListing.objects.filter(
        product=OuterRef("pk"),
        in_stock=True,
        seen_at__gte=cutoff,
        price__gte=OuterRef("price") * settings.REPRICING_SUSPICIOUS_FRACTION,
    )
    cheaper = (
        usable.filter(price__lt=OuterRef("price")).order_by().values("product").annotate(n=Count("pk")).values("n")
    )
    last_seen = CompetitorListing.objects.filter(product=OuterRef("pk")).order_by("-seen_at").values("seen_at")[:1]
    suggestion = RepricingDecision.objects.filter(
        product=OuterRef("pk"), status=RepricingDecision.Status.SUGGESTED
    ).order_by("-decided_at")
    own_rule = RepricingRule.objects.filter(product=OuterRef("pk"), active=True)
    store_rule = RepricingRule.objects.filter(store=OuterRef("store"), product__isnull=True, active=True)
    money = DecimalField(max_digits=12, decimal_places=2)
    products = (
        Product.objects.filter(active=True)
        .select_related("store")
        .annotate(
            lowest_price=Subquery(usable.order_by("price").values("price")[:1], output_field=money),
            cheaper_offers=Coalesce(Subquery(cheaper, output_field=IntegerField()), Value(0)),
            last_seen_at=Subquery(last_seen),
            suggested_price=Subquery(suggestion.values("new_price")[:1], output_field=money),
            suggestion_id=Subquery(suggestion.values("pk")[:1]),
            floor=Coalesce(
                Subquery(own_rule.values("floor")[:1], output_field=money),
                Subquery(store_rule.values("floor")[:1], output_field=money),
            ),
        )
        .annotate(rank=F("cheaper_offers") + 1)
        .order_by("store__name", "sku")
    )
    if store is not None:
        products = products.filter(store=store)
    # Filters as semi-joins (EXISTS), which the database can run set-wise over every product, rather than
    # comparing the per-row annotations (which it would compute for all 100,000 products to count them).
    if show == "undercut":
        products = products.filter(Exists(usable.filter(price__lt=OuterRef("price"))))
    elif show == "at_floor":
        products = products.filter(
            Exists(own_rule.filter(floor__gte=OuterRef("price")))
            | (~Exists(own_rule) & Exists(store_rule.filter(floor__gte=OuterRef("price"))))
        )
    elif show == "stale":
        products = products.exclude(
            Exists(CompetitorListing.objects.filter(product=OuterRef("pk"), seen_at__gte=cutoff))
        )
    elif show == "suggested":
        products = products.filter(Exists(suggestion))
    return products


def price_list_version(store):
    """Changes whenever a price or a stock count of the store changes: the price list's cache key."""
    last_change = (
        ProductPriceChange.objects.filter(product__store=store).order_by("-pk").values_list("pk", flat=True).first()
    )
    last_stock = (
        ProductStock.objects.filter(sales_point__store=store)
        .order_by("-updated_at")
        .values_list("updated_at", flat=True)
        .first()
    )
    last_product = Product.objects.filter(store=store).order_by("-updated_at").values_list("updated_at", flat=True)
    return f"{last_change or 0}:{last_stock.timestamp() if last_stock else 0}:{_ts(last_product.first())}"


def _ts(value):
    return value.timestamp() if value else 0


def price_list_rows(store, chunk_size=2000):
    """(product, [(sales point, available)...]) for each active product of the store, in SKU order, streamed."""
    products = Product.objects.filter(store=store, active=True).order_by("pk")
    last_pk = 0
    while True:
        chunk = list(products.filter(pk__gt=last_pk).only("pk", "sku", "name", "price")[:chunk_size])
        if not chunk:
            return
        stocks = {}
        for product_id, point_id, available in (
            ProductStock.objects.filter(product__in=[p.pk for p in chunk], sales_point__active=True)
            .annotate(available=F("quantity") - F("reserved"))
            .values_list("product_id", "sales_point_id", "available")
        ):
            stocks.setdefault(product_id, []).append((point_id, available))
        for product in chunk:
            yield product, stocks.get(product.pk, [])
        last_pk = chunk[-1].pk
