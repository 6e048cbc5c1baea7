"""A campaign's uses and budget, split over counter shards so concurrent redemptions do not queue on one row.

One campaign row moved by every redemption caps throughput at one commit at a time (the row stays locked until its
commit is flushed). Instead the campaign's caps are split over CAMPAIGN_COUNTER_SHARDS `CampaignCounterShard` rows:

- **Claim.** A redemption takes any shard with room with `FOR UPDATE SKIP LOCKED` and moves it in ONE conditional
  UPDATE (the transaction's last statement): uses < the shard's share, budget spent + discount <= its share, and
  `terms_version` still the one the member was shown. The shares never add up to more than the campaign's caps, so
  the campaign is never oversold.
- **Slow path.** No free shard with room (all busy, or the room is spread thinner than one discount): lock every
  shard in slot order, move room from the others to one shard, claim it; none left in total: exhausted.
- **Re-split.** The campaign services (create_campaign, update_campaign, deactivate_campaign) call `split_counters`
  in their transaction: it locks the shards, shares what is left of the caps over them again and bumps
  `terms_version`; an in-flight redemption whose UPDATE waited on that lock no
  longer matches and is refused (`campaign_changed`, or the new points cost), never charged a changed price.
- **Give back.** A void locks every shard (slot order) and takes the use and the discount back from shards that
  hold them: the sums stay exact, and the room returns to the campaign.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Max, OuterRef, Subquery

from .models import Campaign, CampaignCounterShard

CENT = Decimal("0.01")
SHARD_TABLE = CampaignCounterShard._meta.db_table


def terms_version_of(campaign_ref=None):
    """Subquery: the campaign's current terms version (every shard carries the same one); None without shards."""
    return Subquery(
        CampaignCounterShard.objects.filter(campaign=campaign_ref or OuterRef("pk"))
        .order_by()
        .values("campaign")
        .annotate(v=Max("terms_version"))
        .values("v")
    )


# --- splitting the caps --------------------------------------------------------------------------------------------


def _largest_discount(campaign):
    """The most one redemption can take off (a shard's budget share is at least this, when the room allows)."""
    if campaign.discount_kind == Campaign.DiscountKind.PERCENT:
        base = campaign.max_cart_total if campaign.max_cart_total is not None else campaign.budget or Decimal(0)
        return max((Decimal(base) * campaign.discount_value / 100).quantize(CENT), CENT)
    return max(Decimal(campaign.discount_value), CENT)


def _shares(room, parts):
    """`room` (whole units) split into `parts` as evenly as possible, larger shares first."""
    return [room // parts + (1 if index < room % parts else 0) for index in range(parts)]


def locked_shards(*, campaign_id):
    """The campaign's shards, locked in slot order (the one order every multi-shard lock takes: no deadlock)."""
    return list(CampaignCounterShard.objects.select_for_update().filter(campaign_id=campaign_id).order_by("slot"))


def split_counters(*, campaign):
    """Create the campaign's missing shards and share what is left of its caps over them, in the caller's
    transaction, every shard locked; bumps the terms version. What each shard already used stays where it is."""
    count = max(settings.CAMPAIGN_COUNTER_SHARDS, 1)
    with transaction.atomic():
        shards = locked_shards(campaign_id=campaign.pk)
        if len(shards) < count:
            present = {shard.slot for shard in shards}
            CampaignCounterShard.objects.bulk_create(
                [CampaignCounterShard(campaign_id=campaign.pk, slot=s) for s in range(count) if s not in present],
                ignore_conflicts=True,
            )
            shards = locked_shards(campaign_id=campaign.pk)
        version = max((shard.terms_version for shard in shards), default=0) + 1
        used = sum(shard.uses_count for shard in shards)
        spent = sum((shard.budget_spent for shard in shards), Decimal(0))
        parts = len(shards)
        if campaign.max_uses is not None:
            parts = max(1, min(parts, campaign.max_uses - used))
        if campaign.budget is not None:
            parts = max(1, min(parts, int((campaign.budget - spent) // _largest_discount(campaign))))
        uses_room = _shares(max(campaign.max_uses - used, 0), parts) if campaign.max_uses is not None else None
        budget_room = (
            _shares(max(int((campaign.budget - spent) / CENT), 0), parts) if campaign.budget is not None else None
        )
        for index, shard in enumerate(shards):
            shard.terms_version = version
            shard.max_uses = None if uses_room is None else shard.uses_count + _at(uses_room, index)
            shard.budget = None if budget_room is None else shard.budget_spent + _at(budget_room, index) * CENT
        CampaignCounterShard.objects.bulk_update(shards, ["terms_version", "max_uses", "budget"])


def _at(shares, index):
    return shares[index] if index < len(shares) else 0


# --- claiming and giving back --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """The shard a redemption took its use and budget from."""

    shard_id: int


ROOM = "(max_uses IS NULL OR uses_count < max_uses) AND (budget IS NULL OR budget_spent + %(discount)s <= budget)"


def claim_sql(*, wait=False):
    """The fast claim: one UPDATE of a random free shard with room under `terms_version` (SKIP LOCKED), or with
    `wait` of a random shard with room even if locked, waited for (the UPDATE re-checks room and terms on the row it
    waited for), RETURNING its id. Named parameters `campaign_id`, `discount`, `terms_version`; the redeem path on
    PostgreSQL runs it as the first CTE of its insert (redemption_sql), so the insert happens only on a claim."""
    skip = connection.features.has_select_for_update_skip_locked and not wait
    skip_locked = " FOR UPDATE SKIP LOCKED" if skip else ""
    return (
        f"UPDATE {SHARD_TABLE} SET uses_count = uses_count + 1, budget_spent = budget_spent + %(discount)s "
        f"WHERE id = (SELECT id FROM {SHARD_TABLE} WHERE campaign_id = %(campaign_id)s "
        f"AND terms_version = %(terms_version)s AND {ROOM} ORDER BY random() LIMIT 1{skip_locked}) "
        f"AND terms_version = %(terms_version)s AND {ROOM} RETURNING id"
    )


def claim_use(*, campaign_id, discount, terms_version):
    """Take one use and `discount` from a shard with room: a Claim, or None when the campaign (in total) has no
    room left under these terms. Run it last in the redemption's transaction (the shard stays locked until COMMIT)."""
    with connection.cursor() as cursor:
        cursor.execute(claim_sql(), {"campaign_id": campaign_id, "discount": discount, "terms_version": terms_version})
        row = cursor.fetchone()
    if row is not None:
        return Claim(shard_id=row[0])
    return claim_gathering_room(campaign_id=campaign_id, discount=discount, terms_version=terms_version)


def claim_gathering_room(*, campaign_id, discount, terms_version):
    """Slow path: every shard locked (slot order); room moved from the others to the roomiest one, then claimed."""
    shards = locked_shards(campaign_id=campaign_id)
    if not shards or any(shard.terms_version != terms_version for shard in shards):
        return None
    uses_left = [None if s.max_uses is None else s.max_uses - s.uses_count for s in shards]
    budget_left = [None if s.budget is None else s.budget - s.budget_spent for s in shards]
    if None not in uses_left and sum(uses_left) < 1:
        return None
    if None not in budget_left and sum(budget_left) < discount:
        return None
    target = max(range(len(shards)), key=lambda i: (budget_left[i] or 0, uses_left[i] or 0))
    need_uses = 0 if uses_left[target] is None else max(1 - uses_left[target], 0)
    need_budget = Decimal(0) if budget_left[target] is None else max(discount - budget_left[target], Decimal(0))
    moved = []
    for index, shard in enumerate(shards):
        if index == target or not (need_uses or need_budget):
            continue
        give_uses = min(need_uses, uses_left[index]) if need_uses else 0
        give_budget = min(need_budget, budget_left[index]) if need_budget else Decimal(0)
        if give_uses or give_budget:
            if give_uses:
                shard.max_uses -= give_uses
                shards[target].max_uses += give_uses
                need_uses -= give_uses
            if give_budget:
                shard.budget -= give_budget
                shards[target].budget += give_budget
                need_budget -= give_budget
            moved.append(shard)
    CampaignCounterShard.objects.bulk_update(moved, ["max_uses", "budget"])
    target_shard = shards[target]
    CampaignCounterShard.objects.filter(pk=target_shard.pk).update(
        max_uses=target_shard.max_uses,
        budget=target_shard.budget,
        uses_count=F("uses_count") + 1,
        budget_spent=F("budget_spent") + discount,
    )
    return Claim(shard_id=target_shard.pk)


def give_back(*, campaign_id, discount):
    """A voided redemption's use and discount come off the campaign's counters (every shard locked, slot order)."""
    shards = locked_shards(campaign_id=campaign_id)
    changed = {}
    for shard in shards:
        if shard.uses_count >= 1:
            shard.uses_count -= 1
            changed[shard.pk] = shard
            break
    left = Decimal(discount)
    for shard in sorted(shards, key=lambda s: -s.budget_spent):
        if left <= 0:
            break
        taken = min(left, shard.budget_spent)
        if taken > 0:
            shard.budget_spent -= taken
            left -= taken
            changed[shard.pk] = shard
    CampaignCounterShard.objects.bulk_update(list(changed.values()), ["uses_count", "budget_spent"])
