"""Demo plans, app purchases and subscriptions spread over the last 90 days (through the services, then back-dated)."""

import random
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone

from catalog.models import App
from moderation.ledger import post_entry
from moderation.models import RewardEntry

from . import plans, purchases
from .models import Plan, Purchase, Subscription

DEMO_DAYS = 90
DEMO_KEY_PREFIX = "demo-"
PLANS = [
    {"name": "Starter", "price": 50, "duration_days": 30, "points_multiplier": Decimal("1.10")},
    {"name": "Plus", "price": 150, "duration_days": 30, "points_multiplier": Decimal("1.50"), "member_campaigns": True},
    {
        "name": "Annual",
        "price": 1200,
        "duration_days": 365,
        "points_multiplier": Decimal("2.00"),
        "member_campaigns": True,
    },
]


def _back_date(model, pk, when, **extra):
    model.objects.filter(pk=pk).update(created_at=when, **extra)


def load(out):
    for spec in PLANS:
        Plan.objects.get_or_create(name=spec["name"], defaults=spec)
    if Purchase.objects.filter(idempotency_key__startswith=DEMO_KEY_PREFIX).exists():
        out("commerce: demo purchases already loaded")
        return
    members = list(get_user_model().objects.filter(is_staff=False, phone_verified_at__isnull=False).order_by("pk")[:60])
    apps = list(App.objects.filter(active=True).order_by("pk"))
    if not members or not apps:
        out("commerce: no verified members or apps for demo purchases")
        return
    rng, now = random.Random(14), timezone.now()
    bought = subscribed = 0
    for n, member in enumerate(members):
        # Skewed choice, so some apps sell far more than others.
        chosen = {apps[min(int(rng.expovariate(0.4)), len(apps) - 1)] for _ in range(1 + n % 4)}
        for app in chosen:
            if member.points_balance < app.credit_price:
                post_entry(user=member, amount=app.credit_price, kind=RewardEntry.Kind.ADJUST, reason="Demo credits")
            purchase = purchases.buy_app(member=member, app=app, idempotency_key=f"{DEMO_KEY_PREFIX}{app.pk}").purchase
            when = now - timedelta(days=rng.uniform(0, DEMO_DAYS))
            _back_date(Purchase, purchase.pk, when, updated_at=when)
            if purchase.entry_id:
                _back_date(RewardEntry, purchase.entry_id, when)
            bought += 1
        if n % 5 == 0:
            plan = Plan.objects.get(name=PLANS[n % 2]["name"])
            if member.points_balance < plan.price:
                post_entry(user=member, amount=plan.price, kind=RewardEntry.Kind.ADJUST, reason="Demo credits")
            starts = now - timedelta(days=rng.uniform(0, DEMO_DAYS))
            subscription = plans.subscribe(member=member, plan=plan, now=starts)
            _back_date(Subscription, subscription.pk, starts)
            _back_date(RewardEntry, subscription.entry_id, starts)
            subscribed += 1
    expired = plans.expire_subscriptions()
    out(f"commerce: {len(PLANS)} plans, {bought} purchases, {subscribed} subscriptions ({expired} already ended)")
