"""Read paths of commerce: a member's apps and plan, and the staff listings."""

from django.utils import timezone

from .models import Plan, Purchase, Subscription


def purchases_of(member):
    """A member's purchases, newest first, refunded ones included (the "My apps" page marks them)."""
    return Purchase.objects.filter(member=member).select_related("app")


def owned_purchase(member, app):
    """The member's unrefunded purchase of `app`, or None."""
    if not member.is_authenticated:
        return None
    return Purchase.objects.filter(member=member, app=app, refunded_at__isnull=True).first()


def staff_purchases():
    return Purchase.objects.select_related("member", "app", "refunded_by")


def offered_plans():
    return Plan.objects.filter(active=True)


def current_subscription(member, now=None):
    """The member's running subscription (active and not past its end), or None."""
    if not member.is_authenticated:
        return None
    now = now or timezone.now()
    return (
        Subscription.objects.filter(member=member, status=Subscription.Status.ACTIVE, ends_at__gt=now)
        .select_related("plan")
        .first()
    )


def subscriptions_of(member):
    return Subscription.objects.filter(member=member).select_related("plan")
