"""Write paths for membership plans: subscribing (paid through the ledger) and expiry; plus the perks' answers."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from backoffice.cache import cached_versioned
from growth.campaigns import member_eligibility_changed
from moderation.ledger import InsufficientPoints, post_entry
from moderation.models import RewardEntry

from .apps import PLANS_CACHE_GROUP
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
        member_eligibility_changed(locked.pk)  # member-only campaigns open to them
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


# Asked on every approval: plain SQL on the one-running-subscription-per-member index, no ORM query building.
_RUNNING_PLAN_SQL = (
    f"SELECT plan_id FROM {Subscription._meta.db_table} WHERE member_id = %s AND status = %s AND ends_at > %s LIMIT 1"
)


def _multiplying_plans():
    return dict(Plan.objects.filter(points_multiplier__gt=1).values_list("pk", "points_multiplier"))


def plan_multipliers():
    """{plan id: points multiplier} of the plans that multiply (> 1), under the "plans" cache version (bumped when a
    plan is saved or deleted: commerce.apps), so an approval reads them from this process's copy, most often with no
    round trip to Redis at all."""
    return cached_versioned(
        "plan-multipliers", [PLANS_CACHE_GROUP], (), _multiplying_plans, settings.PLAN_MULTIPLIER_CACHE_SECONDS
    )


def running_multiplier(member, now=None):
    """The points multiplier of the member's running plan, or None: asked on every approval, so kept to one cache read
    and, only when some plan multiplies at all, one query on the one-running-subscription-per-member index.

    Members are rarely approved twice within minutes, so a per-member cache would mostly miss (and need dropping on
    every subscribe and expiry); the plans' multipliers are few and shared by every approval.
    """
    multipliers = plan_multipliers()
    if not multipliers:
        return None
    with connection.cursor() as cursor:
        cursor.execute(_RUNNING_PLAN_SQL, [member.pk, Subscription.Status.ACTIVE, now or timezone.now()])
        row = cursor.fetchone()
    return multipliers.get(row[0]) if row else None


def member_campaign_audience(now):
    """Users whose running plan opens member-only campaigns, as a filter on users."""
    return Q(
        subscriptions__status=Subscription.Status.ACTIVE,
        subscriptions__ends_at__gt=now,
        subscriptions__plan__member_campaigns=True,
    )
