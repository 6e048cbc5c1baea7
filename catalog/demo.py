"""Demo catalog: categories with subcategories, apps with generated icons, a store with products."""

import colorsys
from decimal import Decimal

from django.utils.text import slugify

from backoffice.images import placeholder_png

from .models import App, Category, Product, Store

TREE = {
    "Games": ["Puzzle", "Action", "Casual"],
    "Finance": ["Banking", "Budgeting"],
    "Shopping": ["Fashion", "Groceries"],
    "Health": ["Fitness", "Sleep"],
}
APP_NAMES = [
    "Block Drop",
    "Sky Racer",
    "Word Garden",
    "Coin Keeper",
    "PennyWise",
    "Cartly",
    "FreshBasket",
    "StyleHub",
    "StepCount",
    "DreamWell",
    "Tile Quest",
    "Zombie Dash",
    "Budget Bee",
    "Grocer Go",
    "Run Club",
    "Calm Nights",
    "Match Mania",
    "Vault Bank",
    "Thread Shop",
    "Yoga Flow",
]


def load(out):
    categories = {}
    for parent_name, children in TREE.items():
        parent, _ = Category.objects.get_or_create(slug=slugify(parent_name), defaults={"name": parent_name})
        for child_name in children:
            child, _ = Category.objects.get_or_create(
                slug=slugify(f"{parent_name}-{child_name}"), defaults={"name": child_name, "parent": parent}
            )
            categories.setdefault(parent, []).append(child)
    parents = list(categories)
    for i, name in enumerate(APP_NAMES):
        slug = slugify(name)
        if App.objects.filter(slug=slug).exists():
            continue
        parent = parents[i % len(parents)]
        red, green, blue = colorsys.hsv_to_rgb(i / len(APP_NAMES), 0.6, 0.8)
        app = App(
            name=name,
            slug=slug,
            category=parent,
            subcategory=categories[parent][i % len(categories[parent])],
            description=f"{name} is a demo app in {parent.name}.",
            points_reward=50 + 10 * (i % 6),
            credit_price=5 * (i % 4),
        )
        app.image.save(
            f"{slug}.png", placeholder_png(name, color=(int(red * 255), int(green * 255), int(blue * 255))), save=False
        )
        app.save()
    store, _ = Store.objects.get_or_create(slug="main-store", defaults={"name": "Main store"})
    existing = set(store.products.values_list("sku", flat=True))
    Product.objects.bulk_create(
        Product(store=store, sku=sku, name=f"Product {i}", price=Decimal(i % 90 + 9) + Decimal("0.99"), stock=i % 50)
        for i in range(1, 201)
        if (sku := f"SKU-{i:05d}") not in existing
    )
    counts = f"{Category.objects.count()} categories, {App.objects.count()} apps, {Product.objects.count()} products"
    out(f"catalog: {counts}")
