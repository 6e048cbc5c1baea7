"""Reconciliation: prove the stored counters equal the rows they summarize, and tell the Admins when not.

- every member's `points_balance` equals the sum of their ledger entries (moderation's ledger);
- every campaign's `uses_count` equals its live (not voided) redemptions and `budget_spent` their discounts (both
  summed over the campaign's counter shards, which redemptions and voids move: growth.campaign_counters).

Both should always hold (the services keep them in one transaction); a difference means a bug or a hand edit in the
database, so it is reported, never "fixed" silently.
"""

from decimal import Decimal

from django.db.models import Count, DecimalField, F, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Round

from backoffice.alerts import alert_staff
from moderation.selectors import users_with_unbalanced_ledger

from .models import Campaign, Redemption

REPORTED_ROWS = 20  # differences listed in the alert; the count says how many there are


def campaigns_with_mismatched_counters():
    """Campaigns whose counters differ from their live redemptions (should always be empty)."""
    live = Redemption.objects.filter(campaign=OuterRef("pk"), voided_at__isnull=True).order_by().values("campaign")
    return (
        Campaign.objects.with_counters()
        .annotate(
            live_uses=Coalesce(Subquery(live.annotate(n=Count("pk")).values("n"), output_field=IntegerField()), 0),
            live_spent=Coalesce(
                Subquery(
                    live.annotate(total=Sum("discount_amount")).values("total"),
                    output_field=DecimalField(max_digits=12, decimal_places=2),
                ),
                Value(Decimal("0")),
                output_field=DecimalField(max_digits=12, decimal_places=2),
            ),
        )
        # To the cent the amounts are kept in: SQLite does decimal arithmetic in floats, so a counter built by
        # additions and voids can carry float dust (0.5000000000000001) that is not a difference.
        .annotate(spent_difference=Round(F("budget_spent") - F("live_spent"), 2))
        .filter(~Q(uses_count=F("live_uses")) | ~Q(spent_difference=0))
        .order_by("pk")
    )


def find_differences():
    balances = [
        {"user": user.pk, "balance": user.points_balance, "entries": user.ledger_total}
        for user in users_with_unbalanced_ledger()
    ]
    campaigns = [
        {
            "campaign": campaign.pk,
            "uses_count": campaign.uses_count,
            "live_redemptions": campaign.live_uses,
            "budget_spent": str(campaign.budget_spent),
            "live_discounts": str(campaign.live_spent),
        }
        for campaign in campaigns_with_mismatched_counters()
    ]
    return {"balances": balances, "campaigns": campaigns}


def reconcile():
    """Check both invariants; alert the Admins on any difference. Returns the differences (empty lists: all good)."""
    differences = find_differences()
    balances, campaigns = differences["balances"], differences["campaigns"]
    if balances or campaigns:
        lines = [
            f"member {d['user']}: balance {d['balance']}, ledger entries sum to {d['entries']}"
            for d in balances[:REPORTED_ROWS]
        ] + [
            f"campaign {d['campaign']}: uses_count {d['uses_count']} vs {d['live_redemptions']} live redemptions, "
            f"budget_spent {d['budget_spent']} vs {d['live_discounts']} in their discounts"
            for d in campaigns[:REPORTED_ROWS]
        ]
        alert_staff(
            kind="reconciliation_difference",
            subject=f"Reconciliation: {len(balances)} balance(s) and {len(campaigns)} campaign(s) do not add up",
            body="\n".join(lines),
            url="/admin/redemptions/",
        )
    return {"rows": len(balances) + len(campaigns), **differences}
