"""Campaigns: the marketer's create/update/deactivate, the one eligibility rule set, redeeming and voiding.

Policies (README "Policies"):
- **Cart.** A redemption applies to one cart, named by `cart_reference` (a purchase or an order reference; for an app
  without one, `app:<id>`). When the cart is an app we price (credit price > 0) the cart total is that price; a
  declared cart is discounted as if it were at most the campaign's `max_cart_total`. A cart total must be above zero.
- **Stacking.** One non-stacking campaign per cart; stackable campaigns combine only with stackable ones; the total
  discount on one cart never exceeds the cart.
- **Cost.** The member is charged the points cost they were shown (`expected_points_cost`) or nothing.
- **Gate.** Redeeming needs a verified phone (the anti-fraud gate earning uses).
- **Void.** A Marketer or Admin voids a redemption with a reason: the use, the budget and the points come back (one
  ledger entry), the void is in the redemption's history.
"""

import time
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import BooleanField, Count, ExpressionWrapper, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.db.models.signals import m2m_changed
from django.utils import timezone

from backoffice.errors import DomainError
from backoffice.events import publish
from backoffice.idempotency import clean_idempotency_key
from backoffice.prepared import commit_travels_with, redo_if_statements_lost
from moderation.ledger import InsufficientPoints, post_entry
from moderation.models import RewardEntry

from . import campaign_counters, redemption_sql, selectors
from .models import Campaign, Redemption, new_voucher_code

Kind = RewardEntry.Kind

CENT = Decimal("0.01")
CREDIT = Decimal(1)  # an app purchase is paid in whole credits, so its discount is whole credits too
# Carts (and redemption keys) of app purchases: only commerce's purchase path names them (redeem_for_purchase).
PURCHASE_CART_PREFIX = "purchase:"
VOID_PERM = "growth.void_redemption"
REASON_MAX_LENGTH = 1000


class RedemptionRefused(DomainError):
    """A redemption (or a void) that cannot happen; `code` is machine-readable (the API maps it to a status)."""


# --- the marketer's side: one place for every rule of a campaign ---------------------------------------------


# What a marketer sets on a campaign (the admin form and the API edit exactly these; the counters are the service's).
CAMPAIGN_SETTINGS = (
    "name",
    "description",
    "discount_kind",
    "discount_value",
    "min_cart_total",
    "max_cart_total",
    "stackable",
    "points_cost",
    "eligible_apps",
    "eligible_categories",
    "audience",
    "new_user_days",
    "min_points",
    "starts_at",
    "ends_at",
    "max_uses",
    "budget",
    "per_user_limit",
    "active",
)


def validate_campaign(campaign, *, uses_count=0, budget_spent=Decimal(0)):
    """Every rule a campaign's settings must follow, as one ValidationError keyed by field.

    `uses_count`/`budget_spent` are what is already used (read with the row locked when updating).
    """
    errors = {}

    def add(field, message):
        errors.setdefault(field, []).append(message)

    if campaign.starts_at and campaign.ends_at and campaign.ends_at <= campaign.starts_at:
        add("ends_at", "The campaign must end after it starts.")
    value = campaign.discount_value
    if value is not None:
        if value <= 0:
            add("discount_value", "The discount must be more than zero.")
        elif campaign.discount_kind == Campaign.DiscountKind.PERCENT and value > 100:
            add("discount_value", "A percent discount cannot exceed 100.")
    if campaign.audience == Campaign.Audience.MIN_POINTS and not campaign.min_points:
        add("min_points", "Say how many points users need for this audience.")
    if campaign.audience == Campaign.Audience.NEW_USERS and not campaign.new_user_days:
        add("new_user_days", "Say how recent 'new' is, in days.")
    if campaign.max_uses == 0:
        add("max_uses", "Leave empty for unlimited, or allow at least one use.")
    elif campaign.max_uses is not None and campaign.max_uses < uses_count:
        add("max_uses", f"Already used {uses_count} times; the maximum cannot be lower.")
    if campaign.budget is not None and campaign.budget < budget_spent:
        add("budget", f"{budget_spent} is already spent; the budget cannot be lower.")
    cart_limits = (campaign.min_cart_total, campaign.max_cart_total)
    if None not in cart_limits and cart_limits[1] < cart_limits[0]:
        add("max_cart_total", "The largest cart discounted cannot be below the minimum cart.")
    if errors:
        raise ValidationError(errors)


class CampaignInUse(DomainError):
    """A campaign that members redeemed keeps its history: deactivate it instead of deleting it."""


def create_campaign(*, campaign, actor):
    """Save a new campaign and its counter shards (many-to-many fields are the caller's form's to save)."""
    validate_campaign(campaign)
    campaign.created_by = actor
    campaign._history_user = actor
    with transaction.atomic():
        campaign.save()
        campaign_counters.split_counters(campaign=campaign)
        campaigns_changed()
    return campaign


def update_campaign(*, campaign, actor):
    """Save a campaign's settings. Limits are checked against the counters read with the row and its counter shards
    locked; what is left of the caps is then split over the shards again (campaign_counters) in the same
    transaction, so a redemption committing meanwhile is never undone nor charged a price changed under it."""
    with transaction.atomic():
        # NO KEY: a redemption's foreign key to the campaign is checked at its COMMIT (deferred) with a KEY SHARE
        # lock, while it holds its counter shard; FOR UPDATE here would deadlock with it waiting for that shard.
        Campaign.objects.select_for_update(no_key=True).filter(pk=campaign.pk).values("pk").get()
        shards = campaign_counters.locked_shards(campaign_id=campaign.pk)
        used = {
            "uses_count": sum(shard.uses_count for shard in shards),
            "budget_spent": sum((shard.budget_spent for shard in shards), Decimal(0)),
        }
        validate_campaign(campaign, **used)
        campaign._history_user = actor
        campaign.save()
        campaign_counters.split_counters(campaign=campaign)
        campaigns_changed()
    campaign.uses_count, campaign.budget_spent = used["uses_count"], used["budget_spent"]
    return campaign


def deactivate_campaign(*, campaign, actor):
    campaign.active = False
    campaign._history_user = actor
    with transaction.atomic():
        campaign.save(update_fields=["active"])
        campaign_counters.split_counters(campaign=campaign)  # a new terms version: in-flight redemptions are refused
        campaigns_changed()
    return campaign


def delete_campaign(*, campaign, actor):
    """Delete a campaign nobody redeemed; one with redemptions is refused (its figures and vouchers stay)."""
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.redemptions.exists():
            raise CampaignInUse(
                "campaign_has_redemptions", "Members redeemed this campaign: deactivate it instead of deleting it."
            )
        locked._history_user = actor
        locked.delete()
        campaigns_changed()


# --- eligibility: ONE function for the available list, the redeem path and the admin preview ----------------


@dataclass(frozen=True)
class Cart:
    """What a discount applies to. `total` is decided by `cart_for`, never taken blindly from the client."""

    total: Decimal
    reference: str
    app: object = None
    unit: Decimal = CENT  # the smallest discount step: CENT, or CREDIT for an app purchase


def discount_for(campaign, cart_total, unit=CENT):
    """The discount `campaign` gives a cart of `cart_total`: a declared cart counts at most `max_cart_total`.

    With `unit=CREDIT` (an app purchase, paid in whole credits) the discount is rounded down to whole credits.
    """
    cart_total = Decimal(cart_total)
    base = min(cart_total, campaign.max_cart_total) if campaign.max_cart_total is not None else cart_total
    if campaign.discount_kind == Campaign.DiscountKind.PERCENT:
        amount = (base * campaign.discount_value / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    else:
        amount = campaign.discount_value
    if unit != CENT:
        amount = amount.quantize(unit, rounding=ROUND_DOWN)
    return max(min(amount, cart_total), Decimal(0)).quantize(CENT)


def remaining_budget(campaign):
    """None when unlimited."""
    return None if campaign.budget is None else campaign.budget - campaign.budget_spent


def refusal(campaign, *, now, user=None, cart=None, used_by_user=0, allows_app=True):
    """Why `campaign` cannot be redeemed (a RedemptionRefused), or None when it can.

    Pure: callers pass the facts that need a query (`used_by_user`: the member's live redemptions of it;
    `allows_app`: whether the cart's app is eligible), so the available list checks many campaigns without a query
    each. Without `user` only the campaign-level rules are checked; without `cart` the cart rules are skipped.
    """
    if not campaign.active:
        return RedemptionRefused("campaign_inactive", "This campaign is not active.")
    if now < campaign.starts_at:
        return RedemptionRefused("campaign_not_started", "This campaign has not started yet.")
    if now >= campaign.ends_at:
        return RedemptionRefused("campaign_expired", "This campaign has ended.")
    if campaign.max_uses is not None and campaign.uses_count >= campaign.max_uses:
        return RedemptionRefused("campaign_exhausted", "This campaign has no uses left.")
    left = remaining_budget(campaign)
    if left is not None and (left <= 0 or (cart is not None and discount_for(campaign, cart.total, cart.unit) > left)):
        return RedemptionRefused("budget_exhausted", "This campaign's budget is spent.")
    if cart is not None:
        if cart.total < campaign.min_cart_total:
            return RedemptionRefused(
                "cart_below_minimum", f"The cart total must be at least {campaign.min_cart_total} for this campaign."
            )
        if not allows_app:
            return RedemptionRefused("app_not_eligible", "This campaign does not apply to this app.")
    if user is not None:
        if not user.phone_verified:
            return RedemptionRefused("phone_not_verified", "Verify your phone number before redeeming discounts.")
        if not selectors.campaign_audience_includes(campaign, user, now):
            return RedemptionRefused("user_not_eligible", "You are not eligible for this campaign.")
        if used_by_user >= campaign.per_user_limit:
            return RedemptionRefused("per_user_limit_reached", "You have already used this campaign.")
        if campaign.points_cost and user.points_balance < campaign.points_cost:
            return RedemptionRefused("insufficient_points", f"This campaign costs {campaign.points_cost} points.")
    return None


def live_redemptions(**filters):
    return Redemption.objects.filter(voided_at__isnull=True, **filters)


# --- the available list, cached per member and cart --------------------------------------------------------
#
# Key: the member facts eligibility reads from their own row (balance, phone verified), then the cart; the value carries
# the campaigns' and the member's generations it was computed under, read with it in one round trip, and is used only
# while both are current. A write bumps a generation after it commits (a reader racing the write stores the old answer
# under the old generations, which no read accepts again): any campaign's settings or links, and a
# redemption or void of a limited campaign, bump the campaigns' one; a member's redemption, void or plan change bumps
# theirs. Time (a campaign starting, a new user growing old) is bounded by the TTL; ended campaigns are dropped on
# read. Redis down: every read is a miss and the list is computed (fail open, backoffice.cache).

CAMPAIGNS_GENERATION_KEY = "growth:available:gen"


def _member_generation_key(user_id):
    return f"growth:available:gen:member:{user_id}"


def _bump(key):
    """A new generation. A missing key starts from the clock, so an evicted counter never reuses an old number."""
    try:
        cache.incr(key)
    except ValueError:
        cache.add(key, time.time_ns(), None)


def campaigns_changed():
    """Every member's cached available list is stale from the commit of the current transaction on."""
    transaction.on_commit(lambda: _bump(CAMPAIGNS_GENERATION_KEY))


def member_eligibility_changed(user_id):
    """One member's cached available lists are stale from the commit on (a redemption, a void, a plan)."""
    transaction.on_commit(lambda: _bump(_member_generation_key(user_id)))


def _campaign_links_changed(sender, action, **kwargs):
    if action in {"post_add", "post_remove", "post_clear"}:
        campaigns_changed()


m2m_changed.connect(_campaign_links_changed, sender=Campaign.eligible_apps.through)
m2m_changed.connect(_campaign_links_changed, sender=Campaign.eligible_categories.through)


def available_campaigns(user, cart_total, app=None, *, present=None):
    """Campaigns `user` can redeem now for a cart of `cart_total` (for `app`, if given), soonest ending first.

    Cached per member and cart (AVAILABLE_CAMPAIGNS_CACHE_SECONDS); the redeem path re-checks every rule anyway.
    `present(campaign, cart_total)`, when given, turns each campaign into what the caller shows (the API's JSON-ready
    dict); the presented items are what is cached and returned, so a cache hit skips the presentation too.
    """
    seconds = settings.AVAILABLE_CAMPAIGNS_CACHE_SECONDS
    if not seconds:
        found = available_campaigns_uncached(user, cart_total, app)
        return [present(campaign, cart_total) for campaign in found] if present else found
    member_key = _member_generation_key(user.pk)
    key = ":".join(
        [
            "growth:available",
            f"{present.__module__}.{present.__qualname__}" if present else "campaigns",
            str(user.pk),
            str(user.points_balance),
            "v" if user.phone_verified else "u",
            str(Decimal(cart_total).quantize(CENT)),
            str(getattr(app, "pk", "-")),
        ]
    )
    # One round trip: both generations and the stored list, which carries the generations it was computed under.
    found = cache.get_many([CAMPAIGNS_GENERATION_KEY, member_key, key])
    generations = (found.get(CAMPAIGNS_GENERATION_KEY, 0), found.get(member_key, 0))
    stored = found.get(key)
    now = timezone.now()
    if stored is not None and stored[0] == generations:
        cached = stored[1]
    else:
        cached = [
            (campaign.ends_at, present(campaign, cart_total) if present else campaign)
            for campaign in available_campaigns_uncached(user, cart_total, app)
        ]
        cache.set(key, (generations, cached), seconds)
    return [item for ends_at, item in cached if now < ends_at]


def available_campaigns_uncached(user, cart_total, app=None):
    now = timezone.now()
    cart = Cart(total=Decimal(cart_total), reference="", app=app)
    candidates = (
        Campaign.objects.filter(active=True, starts_at__lte=now, ends_at__gt=now)
        .annotate(
            used_by_user=Count("redemptions", filter=Q(redemptions__user=user, redemptions__voided_at__isnull=True)),
            allows_app=ExpressionWrapper(selectors.campaigns_allowing_app(app), output_field=BooleanField()),
        )
        .order_by("ends_at", "pk")
    )
    return [
        campaign
        for campaign in candidates
        if refusal(
            campaign, now=now, user=user, cart=cart, used_by_user=campaign.used_by_user, allows_app=campaign.allows_app
        )
        is None
    ]


@dataclass(frozen=True)
class PurchaseOffer:
    """A campaign the member may apply to buying an app: its whole-credit discount and the price left to pay."""

    campaign: Campaign
    discount: int
    price: int


def purchase_offers(user, app):
    """The member's campaigns for buying `app` (the cart is its credit price), biggest discount first.

    A campaign whose discount rounds down to zero credits is not offered: it would spend a use and give nothing.
    """
    if not app.credit_price:
        return []
    offers = []
    for campaign in available_campaigns(user, app.credit_price, app):
        discount = int(discount_for(campaign, app.credit_price, CREDIT))
        if discount > 0:
            offers.append(PurchaseOffer(campaign, discount, app.credit_price - discount))
    return sorted(offers, key=lambda offer: (offer.price, offer.campaign.ends_at, offer.campaign.pk))


def eligible_users_preview(campaign, sample_size=10):
    """The marketer's preview: how many members could redeem `campaign` today (any cart), with a sample.

    The campaign-level refusal (ended, exhausted...) comes from `refusal`; when there is one, nobody is eligible.
    The count is the SQL form of the member rules in `refusal`; each sampled member is checked by `refusal` itself.
    """
    now = timezone.now()
    blocked = refusal(campaign, now=now)
    if blocked is not None:
        return {"count": 0, "sample": [], "refusal": str(blocked)}
    users = selectors.audience_of(campaign, now).filter(phone_verified_at__isnull=False)
    if campaign.points_cost:
        users = users.filter(points_balance__gte=campaign.points_cost)
    if campaign.pk:
        at_limit = (
            live_redemptions(campaign=campaign)
            .values("user")
            .annotate(n=Count("pk"))
            .filter(n__gte=campaign.per_user_limit)
            .values("user")
        )
        users = users.exclude(pk__in=at_limit)
    users = users.order_by("-date_joined")
    used = dict(
        live_redemptions(campaign=campaign, user__in=list(users[:sample_size]))
        .values_list("user")
        .annotate(n=Count("pk"))
    )
    sample = [
        u for u in users[:sample_size] if refusal(campaign, now=now, user=u, used_by_user=used.get(u.pk, 0)) is None
    ]
    return {"count": users.count(), "sample": sample, "refusal": ""}


# --- redeeming -------------------------------------------------------------------------------------------------


def cart_for(*, cart_total=None, app=None, cart_reference=""):
    """Decide the cart: an app we price is its credit price; otherwise the declared total (> 0). Raises on bad input."""
    if app is not None and app.credit_price:
        total = Decimal(app.credit_price).quantize(CENT)
        if cart_total is not None and Decimal(cart_total).quantize(CENT) != total:
            raise RedemptionRefused(
                "cart_total_mismatch", f"{app.name} costs {total}; the cart total must be that.", {"cart_total": total}
            )
    elif cart_total is None:
        raise RedemptionRefused("invalid", "Send the cart total.")
    else:
        total = Decimal(cart_total).quantize(CENT)
    if total <= 0:
        raise RedemptionRefused("invalid", "The cart total must be more than zero.")
    reference = (cart_reference or "").strip() or (f"app:{app.pk}" if app is not None else "")
    if not reference:
        raise RedemptionRefused("cart_reference_required", "Say which cart (purchase or order reference) this is for.")
    if len(reference) > 64:
        raise RedemptionRefused("invalid", "A cart reference has at most 64 characters.")
    if reference.startswith(PURCHASE_CART_PREFIX):
        raise RedemptionRefused("invalid", "A discount on an app purchase is chosen when buying the app.")
    return Cart(total=total, reference=reference, app=app)


@dataclass(frozen=True)
class RedemptionResult:
    """What `redeem_campaign` did: the redemption, and whether this call created it (False: a replayed key)."""

    redemption: Redemption
    created: bool


def redeem_campaign(
    *, user, campaign, idempotency_key, expected_points_cost, cart_total=None, app=None, cart_reference=""
):
    """Redeem `campaign` for `user` on one cart, once per `idempotency_key`. Returns a RedemptionResult.

    Concurrency: the user row is locked first (serializing one member's requests, so the per-user limit, the
    stacking rule and the idempotency key hold), then, last, one counter shard of the campaign is claimed and moved
    in one conditional UPDATE (campaign_counters): it matches only while the shard has uses and budget left AND the
    campaign's terms are still the version read, so it never oversells and never charges a price changed meanwhile,
    and concurrent redemptions lock different shards instead of queueing on the campaign row.
    The same key with the same request returns the first redemption; with another, it's refused.
    """
    idempotency_key = clean_idempotency_key(idempotency_key, refusal=RedemptionRefused)
    if idempotency_key.startswith(PURCHASE_CART_PREFIX):  # reserved for the redemptions of app purchases
        raise RedemptionRefused(
            "idempotency_key_invalid", f"Idempotency-Keys starting {PURCHASE_CART_PREFIX!r} are reserved."
        )
    cart = cart_for(cart_total=cart_total, app=app, cart_reference=cart_reference)
    return _redeem(user, campaign, idempotency_key, expected_points_cost, cart)


def redeem_for_purchase(*, user, campaign, app, purchase_reference, expected_points_cost):
    """Redeem `campaign` on the purchase of `app` named `purchase_reference` (commerce's buy path, in its
    transaction, member row locked). The cart is the app's credit price; the discount is whole credits.

    Same rules as `redeem_campaign` (stacking, budget, limits, verified phone, cost shown). Returns the redemption.
    """
    if not app.credit_price:
        raise RedemptionRefused("invalid", "This app is free: there is nothing to discount.")
    reference = PURCHASE_CART_PREFIX + str(purchase_reference)
    cart = Cart(total=Decimal(app.credit_price).quantize(CENT), reference=reference, app=app, unit=CREDIT)
    return _redeem(user, campaign, reference, expected_points_cost, cart).redemption


class _NoFreeShard(Exception):
    """The claim found no shard with room: this attempt is rolled back and the redemption redone (see _redeem) under
    the same terms version (`terms_version`, the one the member was served)."""

    def __init__(self, terms_version):
        super().__init__(terms_version)
        self.terms_version = terms_version


def claim_stages():
    """The redeem path's attempts on PostgreSQL: a free shard (SKIP LOCKED); one with room, waited for (up to
    CAMPAIGN_CLAIM_WAITS times: the shard waited for may lose its last use meanwhile, while others still have room);
    room gathered from every shard."""
    return ("free", *["wait"] * max(settings.CAMPAIGN_CLAIM_WAITS, 1), "gather")


def _redeem(user, campaign, idempotency_key, expected_points_cost, cart):
    """The redeem path. On PostgreSQL its reads and writes are three prepared statements in two round trips, BEGIN
    and COMMIT included (redemption_sql: BEGIN, the member locked and one read; one CTE claiming a shard and
    inserting the redemption and its history row, with the COMMIT), since ORM compilation was most of a redemption's
    client CPU and planning most of PostgreSQL's; elsewhere the ORM writes the same rows.

    When no free shard has room, the attempt is rolled back and redone waiting for one shard with room (with more
    clients than shards, or holders descheduled on a busy machine, every shard is often held at once), up to
    CAMPAIGN_CLAIM_WAITS times; when that fails too, redone again gathering room from every shard. A failed claim
    may still hold a shard whose room ran out under it (PostgreSQL keeps the lock of a row that fails its recheck),
    and waiting for another shard, or locking every shard in slot order, while holding one deadlocks; the rollback
    (a savepoint's, inside a caller's transaction) releases it, so a redone attempt waits holding no shard.
    """
    try:
        expected_points_cost = int(expected_points_cost)
    except (TypeError, ValueError):
        raise RedemptionRefused("invalid", "Send the points cost you were shown (expected_points_cost).") from None
    terms_version = None
    *stages, last = claim_stages()
    for stage in stages:
        try:
            return _redeem_attempt(
                user, campaign, idempotency_key, expected_points_cost, cart, stage=stage, terms_version=terms_version
            )
        except _NoFreeShard as no_room:
            terms_version = no_room.terms_version
    return _redeem_attempt(
        user, campaign, idempotency_key, expected_points_cost, cart, stage=last, terms_version=terms_version
    )


@redo_if_statements_lost
def _redeem_attempt(user, campaign, idempotency_key, expected_points_cost, cart, *, stage, terms_version):
    """One attempt; `terms_version`: the terms a rolled-back attempt served (a redone one keeps to them)."""
    app = cart.app
    in_sql = _one_statement_writes()
    with transaction.atomic():
        if in_sql:
            locked_user, current, mine = redemption_sql.lock_and_read(
                user_id=user.pk,
                campaign_id=campaign.pk,
                app=app,
                idempotency_key=idempotency_key,
                cart_reference=cart.reference,
                reserve_id=expected_points_cost > 0,
            )
            if current.terms_version is None:  # a campaign saved before it had counter shards gets them here
                campaign_counters.split_counters(campaign=current)
                current, mine = redemption_sql.read_for_redeem(
                    campaign_id=campaign.pk,
                    user=locked_user,
                    app=app,
                    idempotency_key=idempotency_key,
                    cart_reference=cart.reference,
                    reserve_id=expected_points_cost > 0,
                )
        else:
            locked_user = get_user_model().objects.select_for_update().get(pk=user.pk)
            # One read for the member's redemption under this key and the live ones on this cart (stacking rule).
            mine = list(
                Redemption.objects.filter(
                    Q(idempotency_key=idempotency_key) | Q(cart_reference=cart.reference, voided_at__isnull=True),
                    user=locked_user,
                ).select_related("campaign")
            )
            current = None
        previous = next((r for r in mine if r.idempotency_key == idempotency_key), None)
        if previous is not None:
            same = (previous.campaign_id, previous.cart_total, previous.app_id, previous.cart_reference) == (
                campaign.pk,
                cart.total,
                getattr(app, "pk", None),
                cart.reference,
            )
            if not same:
                raise RedemptionRefused(
                    "idempotency_key_reused", "This Idempotency-Key was already used for another request."
                )
            if in_sql:  # the read carried only what the checks need
                previous = Redemption.objects.select_related("campaign").get(pk=previous.pk)
            return RedemptionResult(redemption=previous, created=False)
        if current is None:
            # One read for the campaign, its counters and terms version, the member's live uses of it and whether
            # the cart's app is eligible.
            current = _campaign_for_redeem(campaign.pk, locked_user, app)
        if expected_points_cost != current.points_cost:
            raise _cost_changed(current)
        if terms_version is not None and current.terms_version != terms_version:
            raise RedemptionRefused("campaign_changed", "This offer changed while you redeemed it; check it again.")
        now = timezone.now()
        refused = refusal(
            current,
            now=now,
            user=locked_user,
            cart=cart,
            used_by_user=current.used_by_user,
            allows_app=current.allows_app,
        )
        if refused is not None:
            raise refused
        on_cart = [r for r in mine if r.cart_reference == cart.reference and r.voided_at is None]
        discount = _discount_within_cart(current, on_cart, cart)
        redemption = _new_redemption(
            campaign=current,
            user=locked_user,
            idempotency_key=idempotency_key,
            cart=cart,
            discount=discount,
            id=getattr(current, "reserved_id", None),  # the id the SQL read reserved (the ORM's save picks one)
            created_at=now,
            void_reason="",
        )
        (_write_in_sql if in_sql else _write_with_orm)(redemption, stage=stage)
        # On PostgreSQL the write may have carried the COMMIT already: nothing below touches the database or can
        # fail; it only registers what runs after the commit (the atomic block's exit runs it, as usual).
        # Subscribers (webhooks) run after the commit; a rolled-back redemption publishes nothing.
        publish(
            "redemption.created",
            {
                "id": redemption.pk,
                "campaign_id": current.pk,
                "user_id": locked_user.pk,
                "app_id": getattr(app, "pk", None),
                "cart_total": str(cart.total),
                "discount_amount": str(discount),
                "points_cost": current.points_cost,
            },
        )
        _redemptions_changed(current, locked_user.pk)
    user.points_balance = locked_user.points_balance
    return RedemptionResult(redemption=redemption, created=True)


def _one_statement_writes():
    """Whether the redeem path runs its PostgreSQL statements (redemption_sql) rather than the ORM."""
    return connection.vendor == "postgresql"


def _charge(*, campaign, user, redemption):
    """The points cost the member was shown, debited through the ledger (source: the redemption)."""
    try:
        post_entry(
            user=user,
            amount=-campaign.points_cost,
            kind=RewardEntry.Kind.REDEEM,
            source=redemption,
            reason=f"Redeemed {campaign.name}",
        )
    except InsufficientPoints as exc:
        raise RedemptionRefused("insufficient_points", str(exc)) from exc


def _write_with_orm(redemption, *, stage):
    """Save the unsaved `redemption` (and its history row), debit the points cost, then, last before COMMIT, claim
    the counter (the claimed shard stays locked as briefly as possible); zero rows claimed rolls everything back and
    says why. (`stage` is unused: `claim_use` gathers in the same transaction, which only PostgreSQL's concurrent SQL
    path must not do.)"""
    campaign = redemption.campaign
    redemption.save(force_insert=True)
    if campaign.points_cost:
        _charge(campaign=campaign, user=redemption.user, redemption=redemption)
    claimed = campaign_counters.claim_use(
        campaign_id=campaign.pk, discount=redemption.discount_amount, terms_version=campaign.terms_version
    )
    if claimed is None:
        raise _why_not_moved(campaign)


def _write_in_sql(redemption, *, stage):
    """The same rows as `_write_with_orm`, in the same order of locks: the points cost first (its source is the id
    the read reserved), then one statement claiming a shard (`stage` "free" or "wait") and inserting the redemption
    and its history row; none claimed: `_NoFreeShard`. At the "gather" stage room is gathered from every shard first
    (campaign_counters' slow path), then the insert runs alone. The insert is the transaction's last statement: when
    the transaction is the redemption's own, its COMMIT goes with it (one round trip fewer)."""
    campaign = redemption.campaign
    if campaign.points_cost:
        if redemption.pk is None:  # the read did not reserve one (no cost was expected): cannot happen, the cost
            raise _cost_changed(campaign)  # shown is checked first; kept so a debit never lacks its source
        _charge(campaign=campaign, user=redemption.user, redemption=redemption)
    if stage == "gather":
        claimed = campaign_counters.claim_gathering_room(
            campaign_id=campaign.pk, discount=redemption.discount_amount, terms_version=campaign.terms_version
        )
        if claimed is None:
            raise _why_not_moved(campaign)
    commit = commit_travels_with()
    try:
        redemption.pk = redemption_sql.insert_claimed(
            redemption=redemption, claim=stage if stage != "gather" else False, commit=commit
        )
    except redemption_sql.NothingClaimed:
        raise _NoFreeShard(campaign.terms_version) from None  # rolled back, redone at the next stage (see _redeem)
    redemption._state.adding, redemption._state.db = False, connection.alias


def record_redemption(*, campaign, user, idempotency_key, cart, discount):
    """The redemption row (and its history row) of `user` using `campaign` on `cart`; counters are the caller's."""
    redemption = _new_redemption(
        campaign=campaign, user=user, idempotency_key=idempotency_key, cart=cart, discount=discount
    )
    redemption.save(force_insert=True)
    return redemption


def _new_redemption(*, campaign, user, idempotency_key, cart, discount, **fields):
    """The unsaved redemption of `user` using `campaign` on `cart`, with a new voucher code (and `fields`)."""
    return Redemption(
        campaign=campaign,
        user=user,
        idempotency_key=idempotency_key,
        app=cart.app,
        cart_reference=cart.reference,
        cart_total=cart.total,
        discount_amount=discount,
        points_cost=campaign.points_cost,
        voucher_code=new_voucher_code(),
        **fields,
    )


def _redemptions_changed(campaign, user_id):
    """A use of a limited campaign may end it for everybody; any use changes what its member may still redeem."""
    member_eligibility_changed(user_id)
    if campaign.max_uses is not None or campaign.budget is not None:
        campaigns_changed()


def _campaign_for_redeem(campaign_id, user, app):
    """The campaign with its counters and terms version, `used_by_user` (the member's live redemptions of it) and
    `allows_app`, in one query; a campaign saved before it had counter shards gets them here."""
    used = (
        live_redemptions(campaign=OuterRef("pk"), user=user)
        .order_by()
        .values("campaign")
        .annotate(n=Count("pk"))
        .values("n")
    )
    current = (
        Campaign.objects.with_counters()
        .annotate(
            terms_version=campaign_counters.terms_version_of(),
            used_by_user=Coalesce(Subquery(used, output_field=IntegerField()), 0),
            allows_app=ExpressionWrapper(selectors.campaigns_allowing_app(app), output_field=BooleanField()),
        )
        .get(pk=campaign_id)
    )
    if current.terms_version is None:
        campaign_counters.split_counters(campaign=current)
        return _campaign_for_redeem(campaign_id, user, app)
    return current


def _discount_within_cart(campaign, on_cart, cart):
    """The campaign's discount, refused or reduced so that the cart's total discount (`on_cart`: the live
    redemptions on it) never exceeds the cart."""
    already = sum((r.discount_amount for r in on_cart), Decimal(0))
    if on_cart:
        if any(r.cart_total != cart.total for r in on_cart):
            raise RedemptionRefused(
                "cart_total_mismatch", f"This cart was already discounted with a total of {on_cart[0].cart_total}."
            )
        if not campaign.stackable or not all(r.campaign.stackable for r in on_cart):
            raise RedemptionRefused(
                "not_stackable", "This cart already has a discount that does not combine with this one."
            )
    discount = min(discount_for(campaign, cart.total, cart.unit), cart.total - already)
    if discount <= 0:
        raise RedemptionRefused("cart_fully_discounted", "This cart is already discounted to zero.")
    return discount


def _cost_changed(current):
    return RedemptionRefused(
        "points_cost_changed",
        f"This offer now costs {current.points_cost} points; nothing was charged. Check it and try again.",
        {"points_cost": current.points_cost},
    )


def _why_not_moved(shown):
    now = Campaign.objects.with_counters().annotate(terms_version=campaign_counters.terms_version_of()).get(pk=shown.pk)
    if now.points_cost != shown.points_cost:
        return _cost_changed(now)
    if now.terms_version != shown.terms_version:
        return RedemptionRefused("campaign_changed", "This offer changed while you redeemed it; check it again.")
    if now.max_uses is not None and now.uses_count >= now.max_uses:
        return RedemptionRefused("campaign_exhausted", "This campaign has no uses left.")
    if now.budget is not None and now.budget_spent >= now.budget:
        return RedemptionRefused("budget_exhausted", "This campaign's budget is spent.")
    return refusal(now, now=timezone.now()) or RedemptionRefused("budget_exhausted", "This campaign's budget is spent.")


# --- voiding ---------------------------------------------------------------------------------------------------


def void_redemption(redemption, *, actor, reason):
    """Undo a redemption: the use, the budget and the points come back; the redemption stays, marked voided.

    A discount that paid part of an app purchase is voided by refunding that purchase (`void_for_refund`).
    """
    if actor is None or not actor.is_active or not actor.has_perm(VOID_PERM):
        raise PermissionDenied(f"{actor} may not void redemptions.")
    if redemption.cart_reference.startswith(PURCHASE_CART_PREFIX):
        raise RedemptionRefused(
            "applied_to_purchase", "This discount paid part of an app purchase: refund the purchase instead."
        )
    return _void(redemption, actor=actor, reason=reason)


def void_for_refund(redemption, *, actor, reason):
    """Void the discount of an app purchase being refunded (commerce's refund path, which checked the actor may
    refund, in its transaction). An already voided one is left as it is."""
    if redemption.voided:
        return redemption
    return _void(redemption, actor=actor, reason=reason)


def give_points_back(*, to, points, kind, source, actor, reason):
    """One reversing ledger entry by staff, with actor and reason (a void here, a refund in commerce). Returns it."""
    return post_entry(user=to, amount=points, kind=kind, source=source, actor=actor, reason=reason).entry


def _void(redemption, *, actor, reason):
    """Locks in the redeem path's order (member, then campaign counters last), so a void and a redemption never
    deadlock."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "A reason is required."})
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError({"reason": f"Keep the reason under {REASON_MAX_LENGTH} characters."})
    User = get_user_model()
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=redemption.user_id).get()
        locked = Redemption.objects.select_for_update().get(pk=redemption.pk)
        if locked.voided:
            raise RedemptionRefused("already_voided", "This redemption was already voided.")
        locked.voided_at, locked.voided_by, locked.void_reason = timezone.now(), actor, reason
        locked._history_user = actor
        locked._change_reason = f"Voided: {reason}"
        locked.save(update_fields=["voided_at", "voided_by", "void_reason"])
        if locked.points_cost:
            give_points_back(
                to=locked.user, points=locked.points_cost, kind=Kind.VOID, source=locked, actor=actor, reason=reason
            )
        campaign_counters.give_back(campaign_id=locked.campaign_id, discount=locked.discount_amount)
        member_eligibility_changed(locked.user_id)
        campaigns_changed()
    redemption.voided_at, redemption.voided_by, redemption.void_reason = locked.voided_at, actor, reason
    return redemption
