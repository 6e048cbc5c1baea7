"""Read paths of the moderation app."""

from django.contrib.auth import get_user_model
from django.db.models import F, IntegerField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from .models import RewardEntry


def users_with_unbalanced_ledger():
    """Users whose stored balance differs from the sum of their ledger entries (should always be empty)."""
    entries_total = (
        RewardEntry.objects.filter(user=OuterRef("pk"))
        .order_by()
        .values("user")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return (
        get_user_model()
        .objects.annotate(ledger_total=Coalesce(Subquery(entries_total, output_field=IntegerField()), Value(0)))
        .exclude(points_balance=F("ledger_total"))
        .order_by("pk")
    )
