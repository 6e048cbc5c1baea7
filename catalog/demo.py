"""Demo catalog: categories with subcategories, apps that belong in them (with icons), a store with products."""

import colorsys
import datetime
from decimal import Decimal

from django.utils import timezone
from django.utils.text import slugify

from backoffice.demo import DAYS
from backoffice.demo_images import app_icon

from . import services
from .models import App, Category, Product, Store

# category: {subcategory: [(app, one-line description)]}; the parent's slug also names the screenshot style.
TREE = {
    "Games": {
        "Puzzle": [
            ("Block Drop", "Slide and drop blocks to clear lines. 600 levels, no timer."),
            ("Word Garden", "Grow a garden by finding words in letter grids."),
            ("Tile Quest", "Match three tiles across a map of islands."),
        ],
        "Action": [
            ("Sky Racer", "Race planes through canyons and cities."),
            ("Zombie Dash", "Run, jump and dodge through a city of zombies."),
        ],
        "Casual": [
            ("Match Mania", "Quick matching rounds for a coffee break."),
            ("Bubble Pop", "Pop bubbles of one colour before they reach the floor."),
        ],
    },
    "Finance": {
        "Banking": [
            ("Vault Bank", "A current account with instant card freeze and spending alerts."),
            ("Coin Keeper", "All your bank accounts and cards in one balance."),
        ],
        "Budgeting": [
            ("PennyWise", "Set a monthly budget per category and see where the money goes."),
            ("Budget Bee", "Round up each purchase into a savings pot."),
        ],
    },
    "Shopping": {
        "Fashion": [
            ("StyleHub", "New collections from 300 brands, free returns."),
            ("Thread Shop", "Second-hand clothes, checked and cleaned."),
        ],
        "Groceries": [
            ("FreshBasket", "Groceries delivered in an hour."),
            ("Grocer Go", "Click and collect from your local supermarket."),
            ("Cartly", "Shared shopping lists that sort themselves by aisle."),
        ],
    },
    "Health & Fitness": {
        "Fitness": [
            ("StepCount", "Daily steps, streaks and friendly challenges."),
            ("Run Club", "Guided runs from 5 km to marathon."),
            ("Yoga Flow", "Ten-minute yoga sessions for every level."),
        ],
        "Sleep": [
            ("DreamWell", "Sleep tracking with a gentle smart alarm."),
            ("Calm Nights", "Bedtime stories and sounds to fall asleep to."),
        ],
    },
}
SCREENSHOT_STYLE = {"games": "games", "finance": "finance", "shopping": "shopping", "health-fitness": "health"}
PRODUCTS = [
    ("Gift card", [10, 25, 50]),
    ("Premium month", [4.99, 9.99]),
    ("Coin pack", [1.99, 4.99, 19.99]),
    ("Ad-free upgrade", [2.99]),
    ("Season pass", [14.99]),
    ("Theme bundle", [1.49, 2.49]),
]


def app_color(index, count):
    red, green, blue = colorsys.hsv_to_rgb(index / count, 0.65, 0.72)
    return int(red * 255), int(green * 255), int(blue * 255)


def demo_apps():
    """Every demo app as (name, parent name, subcategory name, description), in a stable order."""
    return [
        (name, parent, child, description)
        for parent, children in TREE.items()
        for child, apps in children.items()
        for name, description in apps
    ]


def screenshot_style(app):
    """Which kind of screen the app shows in demo screenshots (games, finance, shopping, health)."""
    return SCREENSHOT_STYLE.get(app.category.slug, "games")


def load(out):
    categories = {}
    for parent_name, children in TREE.items():
        parent, _ = Category.objects.get_or_create(slug=slugify(parent_name), defaults={"name": parent_name})
        for child_name in children:
            categories[parent_name, child_name], _ = Category.objects.get_or_create(
                slug=slugify(f"{parent_name}-{child_name}"), defaults={"name": child_name, "parent": parent}
            )
    everything = demo_apps()
    now = timezone.now()
    created = 0
    for i, (name, parent_name, child_name, description) in enumerate(everything):
        slug = slugify(name)
        if App.objects.filter(slug=slug).exists():
            continue
        child = categories[parent_name, child_name]
        app = App(
            name=name,
            slug=slug,
            category=child.parent,
            subcategory=child,
            description=description,
            points_reward=50 + 10 * (i % 6),
            credit_price=5 * (i % 4),
        )
        icon = app_icon(name, app_color(i, len(everything)))
        icon.name = f"{slug}.png"
        app.image = icon
        services.save_app(app=app)
        # Most apps were listed before the demo period, a few during it: the "apps created" chart has a shape.
        listed = now - datetime.timedelta(days=DAYS + 30 - i * 3 if i < 14 else (len(everything) - i) * 11)
        App.objects.filter(pk=app.pk).update(created_at=listed)
        created += 1
    store, _ = Store.objects.get_or_create(slug="main-store", defaults={"name": "Main store"})
    existing = set(store.products.values_list("sku", flat=True))
    products = []
    for i, (name, _, _, _) in enumerate(everything):
        for kind, prices in PRODUCTS[i % len(PRODUCTS) :] + PRODUCTS[: i % len(PRODUCTS)]:
            for price in prices[:2]:
                sku = f"{slugify(name)[:10].upper()}-{slugify(kind)[:8].upper()}-{int(price * 100)}"
                if sku not in existing and len(products) < 200:
                    products.append(
                        Product(
                            store=store,
                            sku=sku,
                            name=f"{name} {kind.lower()} {price}",
                            price=Decimal(str(price)),
                            stock=i * 7 % 50,
                        )
                    )
                    existing.add(sku)
    Product.objects.bulk_create(products)
    counts = f"{Category.objects.count()} categories, {App.objects.count()} apps, {Product.objects.count()} products"
    out(f"catalog: {counts} ({created} apps new)")


def summary():
    return f"{App.objects.count()} apps"
