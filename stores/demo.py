"""Demo store operations: two stores with sales points and stock, 60 days of orders, competitor shops with
listings (some cheaper, some stale, one absurd), repricing rules in both modes, one repricing run and its alerts.
Runs once: a second load finds the sales points and adds nothing."""

import random
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from catalog.models import Competitor, Product, Store

from . import alerts, models, orders, repricing

DAYS = 60
ORDERS_PER_DAY = 4
CITIES = ["Almaty", "Astana", "Shymkent", "Karaganda"]
NAMES = ["Aigerim", "Dias", "Madina", "Nurlan", "Saule", "Timur", "Zhanna", "Yerlan", "Aruzhan", "Bakhyt"]
POINTS = {
    "main-store": [("Almaty Central", "12 Abay Ave, Almaty"), ("Astana Left Bank", "5 Kabanbay Batyr, Astana")],
    "home-goods": [("Shymkent Warehouse", "88 Tauke Khan, Shymkent")],
}
RIVALS = {"PriceHawk": ["PriceHawk Main", "PriceHawk Outlet"], "ShopMart": ["ShopMart"], "BudgetBox": ["BudgetBox"]}


def load(out):
    main = Store.objects.filter(slug="main-store").first()
    if main is None or models.SalesPoint.objects.filter(store=main).exists():
        out("stores: already loaded" if main else "stores: no catalog store, skipped")
        return
    rng = random.Random(15)
    now = timezone.now()
    home, _ = Store.objects.get_or_create(slug="home-goods", defaults={"name": "Home Goods"})
    Product.objects.bulk_create(
        Product(store=home, sku=f"HG-{i:04d}", name=f"Home item {i}", price=Decimal(15 + i % 40) + Decimal("0.50"))
        for i in range(1, 61)
        if not Product.objects.filter(store=home, sku=f"HG-{i:04d}").exists()
    )
    stores = [main, home]
    points = {
        store.pk: [
            models.SalesPoint.objects.create(store=store, name=name, address=address)
            for name, address in POINTS[store.slug]
        ]
        for store in stores
    }
    products = {store.pk: list(store.products.order_by("pk")) for store in stores}
    models.ProductStock.objects.bulk_create(
        models.ProductStock(product=product, sales_point=point, quantity=rng.randint(40, 120))
        for store in stores
        for point in points[store.pk]
        for product in products[store.pk]
    )
    orders.sync_product_stock(product_ids=[product.pk for store in stores for product in products[store.pk]])
    for store in stores:
        models.MarketplaceAccount.objects.get_or_create(store=store)
    _orders(rng, stores, points, products, now)
    _competitors(rng, stores, products, now)
    models.RepricingRule.objects.create(
        store=main, floor=Decimal("5.00"), ceiling=Decimal("150.00"), beat_by=Decimal("0.50"), mode="suggest"
    )
    models.RepricingRule.objects.create(
        store=home,
        floor=Decimal("8.00"),
        ceiling=Decimal("80.00"),
        strategy="beat_percent",
        beat_by=Decimal("2"),
        step=Decimal("0.10"),
        mode="live",
    )
    for product in products[main.pk][:5]:  # floors right at today's price: these show up "at floor"
        models.RepricingRule.objects.create(
            store=main, product=product, floor=product.price, ceiling=product.price * 2, mode="suggest"
        )
    run = repricing.run_repricing()
    alerts.after_repricing(run)
    out(
        f"stores: {models.SalesPoint.objects.count()} sales points, {models.Order.objects.count()} orders, "
        f"{models.CompetitorListing.objects.count()} competitor listings, "
        f"repricing: {run.prices_changed} prices changed, {run.suggestions} suggestions"
    )


def _orders(rng, stores, points, products, now):
    flow = [models.Order.Status.ACCEPTED, models.Order.Status.SHIPPED, models.Order.Status.DELIVERED]
    for store in stores:
        clients = [
            models.Client.objects.create(
                store=store,
                name=f"{rng.choice(NAMES)} {chr(65 + i % 26)}.",
                phone=f"+7701{store.pk:02d}{i:05d}",
                city=rng.choice(CITIES),
            )
            for i in range(40)
        ]
        number = 0
        for day in range(DAYS, -1, -1):
            for _ in range(rng.randint(ORDERS_PER_DAY - 2, ORDERS_PER_DAY + 2)):
                number += 1
                picked = rng.sample(products[store.pk], rng.randint(1, 3))
                order = orders.create_order(
                    store=store,
                    code=f"{store.slug[:2].upper()}-{number:06d}",
                    sales_point=rng.choice(points[store.pk]),
                    client=rng.choice(clients),
                    items=[(product, rng.randint(1, 2), product.price) for product in picked],
                    placed_at=now - timedelta(days=day, hours=rng.randint(0, 12)),
                )
                steps = len(flow) if day > 3 else rng.randint(0, len(flow))
                for status in flow[:steps]:
                    orders.change_status(order=order, new_status=status)
                if day > 3 and rng.random() < 0.05:
                    orders.change_status(order=order, new_status=models.Order.Status.RETURNED)
                elif steps == 0 and rng.random() < 0.2:
                    orders.change_status(order=order, new_status=models.Order.Status.CANCELLED)


def _competitors(rng, stores, products, now):
    listings = []
    for competitor_name, shop_names in RIVALS.items():
        competitor, _ = Competitor.objects.get_or_create(name=competitor_name)
        for store in stores:
            for shop_name in shop_names:
                shop = models.CompetitorStore.objects.create(
                    competitor=competitor,
                    store=store,
                    name=shop_name,
                    shop_url=f"https://marketplace.example/shop/{shop_name.lower().replace(' ', '-')}",
                    last_import_at=now,
                )
                for product in products[store.pk]:
                    if rng.random() < 0.3:
                        continue
                    seen = now - timedelta(hours=rng.choice([1, 2, 5, 12, 72]))  # some stale
                    price = (product.price * Decimal(rng.uniform(0.85, 1.2))).quantize(Decimal("0.01"))
                    listings.append(
                        models.CompetitorListing(
                            competitor_store=shop,
                            external_id=f"{shop.pk}-{product.sku}",
                            sku=product.sku,
                            name=product.name,
                            product=product,
                            price=price,
                            in_stock=rng.random() > 0.1,
                            first_seen_at=seen,
                            seen_at=seen,
                        )
                    )
                for i in range(10):  # the rest of their range: products we don't sell
                    listings.append(
                        models.CompetitorListing(
                            competitor_store=shop,
                            external_id=f"{shop.pk}-other-{i}",
                            sku=f"{competitor_name[:3].upper()}-{i:03d}",
                            name=f"{competitor_name} item {i}",
                            price=Decimal(rng.randint(5, 90)),
                            first_seen_at=now,
                            seen_at=now,
                        )
                    )
    first = products[stores[0].pk][0]
    listings.append(  # a typo on the marketplace: flagged by the repricer, never followed
        models.CompetitorListing(
            competitor_store=models.CompetitorStore.objects.filter(store=stores[0]).first(),
            external_id="typo-1",
            sku=first.sku,
            product=first,
            price=Decimal("0.01"),
            first_seen_at=now,
            seen_at=now,
        )
    )
    models.CompetitorListing.objects.bulk_create(listings, batch_size=2000)
