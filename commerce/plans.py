"""Write paths for membership plans: subscribing (paid through the ledger) and expiry; plus the perks' answers."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from moderation.ledger import InsufficientPoints, post_entry
from moderation.models import RewardEntry

from .errors import SubscriptionRefused
from .models import Plan, Subscription


def subscribe(*, member, plan, now=None):
    """Subscribe `member` to `plan` for its duration, paying its price from the balance. Returns the subscription.

    One running subscription per member: the member row is locked, so a double click or two tabs
    subscribe once (the second gets `already_subscribed`); a partial unique constraint backs it up.
    A subscription whose end has passed but that the expiry job has not reached yet is expired here first.
    """
    now = now or timezone.now()
    User = get_user_model()
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=member.pk)
        if not locked.phone_verified:
            raise SubscriptionRefused("phone_not_verified", "Verify your phone number before subscribing.")
        plan = Plan.objects.get(pk=plan.pk)
        if not plan.active:
            raise SubscriptionRefused("plan_inactive", "This plan is no longer offered.")
        Subscription.objects.filter(member=locked, status=Subscription.Status.ACTIVE, ends_at__lte=now).update(
            status=Subscription.Status.EXPIRED
        )
        if Subscription.objects.filter(member=locked, status=Subscription.Status.ACTIVE).exists():
            raise SubscriptionRefused("already_subscribed", "You already have a running plan.")
        if locked.points_balance < plan.price:
            raise SubscriptionRefused(
                "insufficient_points",
                f"This plan costs {plan.price} points and your balance is {locked.points_balance}.",
                {"balance": locked.points_balance, "price": plan.price},
            )
        try:
            with transaction.atomic():
                subscription = Subscription.objects.create(
                    member=locked,
                    plan=plan,
                    price_paid=plan.price,
                    starts_at=now,
                    ends_at=now + timedelta(days=plan.duration_days),
                )
        except IntegrityError as exc:
            raise SubscriptionRefused("already_subscribed", "You already have a running plan.") from exc
        try:
            subscription.entry, _ = post_entry(
                user=locked, amount=-plan.price, kind=RewardEntry.Kind.PLAN, source=subscription, reason=plan.name
            )
        except InsufficientPoints as exc:
            raise SubscriptionRefused("insufficient_points", str(exc)) from exc
        subscription.save(update_fields=["entry"])
    member.points_balance = locked.points_balance
    return subscription


def expire_subscriptions(now=None):
    """Mark every subscription past its end as expired. Idempotent; returns how many it expired."""
    now = now or timezone.now()
    return Subscription.objects.filter(status=Subscription.Status.ACTIVE, ends_at__lte=now).update(
        status=Subscription.Status.EXPIRED
    )


def running_plan(member, now=None):
    """The plan of the member's running subscription, or None (perks read this)."""
    now = now or timezone.now()
    subscription = (
        Subscription.objects.filter(member=member, status=Subscription.Status.ACTIVE, ends_at__gt=now)
        .select_related("plan")
        .first()
    )
    return subscription.plan if subscription else None


def member_campaign_audience(now):
    """Users whose running plan opens member-only campaigns, as a filter on users."""
    return Q(
        subscriptions__status=Subscription.Status.ACTIVE,
        subscriptions__ends_at__gt=now,
        subscriptions__plan__member_campaigns=True,
    )
