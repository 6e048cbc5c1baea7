"""Write paths for app purchases: buying an app with credits (points) and refunding it."""

import hashlib
import json
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from backoffice.events import publish
from backoffice.idempotency import clean_idempotency_key
from backoffice.services import notify_user
from growth import campaigns
from moderation.ledger import InsufficientPoints, post_entry
from moderation.models import RewardEntry

from .errors import PurchaseRefused
from .models import Purchase

Kind = RewardEntry.Kind

REFUND_PERM = "commerce.refund_purchase"
REASON_MAX_LENGTH = 1000


def request_hash(*, app, expected_price=None, campaign=None, expected_points_cost=0):
    """A fingerprint of what a keyed request asked for; a replay with the same key must ask for the same."""
    asked = {"app": app.pk, "expected_price": expected_price}
    if campaign is not None:
        asked.update(campaign=campaign.pk, expected_points_cost=expected_points_cost)
    body = json.dumps(asked, sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()


def _check_key(idempotency_key):
    return clean_idempotency_key(idempotency_key, refusal=PurchaseRefused)


@dataclass(frozen=True)
class PurchaseResult:
    """What `buy_app` did: the purchase, and whether this call created it (False: a replayed key)."""

    purchase: Purchase
    created: bool


def buy_app(*, member, app, idempotency_key, expected_price=None, campaign=None, expected_points_cost=0):
    """Buy `app` for `member` with credits, once per idempotency key. Returns a PurchaseResult.

    The member row is locked first, so one member's concurrent requests serialize: the second sees the
    first purchase (same key: a replay; another key: `already_purchased`). A partial unique constraint
    (one unrefunded purchase per member and app) backs this up. The price is debited through the ledger
    in the same transaction; a free app is "bought" once with no ledger entry. `expected_price` is the
    price the member was shown: when it no longer matches, nothing is charged (`price_changed`).

    With `campaign`, the cart is the app's credit price: growth's redeem path (same transaction, same rules:
    stacking, budget, limits, verified phone, `expected_points_cost` shown) discounts it in whole credits, the
    redemption's cart is this purchase, and the member pays the credit price less the discount.
    """
    key = _check_key(idempotency_key)
    fingerprint = request_hash(
        app=app, expected_price=expected_price, campaign=campaign, expected_points_cost=expected_points_cost
    )
    User = get_user_model()
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=member.pk)
        # One read: the purchase under this key (a replay) and the member's unrefunded one of this app.
        mine = list(
            Purchase.objects.filter(Q(idempotency_key=key) | Q(app=app, refunded_at__isnull=True), member=locked)
        )
        previous = next((p for p in mine if p.idempotency_key == key), None)
        if previous is not None:
            if previous.request_hash != fingerprint:
                raise PurchaseRefused(
                    "idempotency_key_reused", "This Idempotency-Key was already used for another request."
                )
            return PurchaseResult(purchase=previous, created=False)
        discount = _shown_discount(campaign, app)
        price = app.credit_price - discount
        _check_can_buy(locked, app, expected_price, price, owned=bool(mine))
        try:
            # No savepoint: the member row lock already serializes this member; should the constraint still
            # refuse, the error leaves the transaction at once and it rolls back whole.
            purchase = Purchase.objects.create(
                member=locked, app=app, price_paid=price, idempotency_key=key, request_hash=fingerprint
            )
        except IntegrityError as exc:
            raise PurchaseRefused("already_purchased", "You already own this app.") from exc
        if price:
            try:
                purchase.entry, _ = post_entry(
                    user=locked,
                    amount=-price,
                    kind=RewardEntry.Kind.PURCHASE,
                    source=purchase,
                    reason=f"Bought {app.name}",
                )
            except InsufficientPoints as exc:
                raise _insufficient(locked.points_balance, price) from exc
        if campaign is not None:
            # The campaign counters move last inside; the discount is the one the member was shown, or nothing.
            purchase.redemption = campaigns.redeem_for_purchase(
                user=locked,
                campaign=campaign,
                app=app,
                purchase_reference=purchase.pk,
                expected_points_cost=expected_points_cost,
            )
            if purchase.redemption.discount_amount != discount:
                raise _price_changed(app.credit_price - int(purchase.redemption.discount_amount))
        if purchase.entry or purchase.redemption:
            purchase.save(update_fields=["entry", "redemption", "updated_at"])
        publish("purchase.created", purchase_payload(purchase))
    member.points_balance = locked.points_balance
    return PurchaseResult(purchase=purchase, created=True)


def _shown_discount(campaign, app):
    """The whole-credit discount `campaign` gives `app` as it reads now (growth re-checks it with the row locked)."""
    if campaign is None:
        return 0
    if not app.credit_price:
        raise PurchaseRefused("nothing_to_discount", "This app is free: there is nothing to discount.")
    discount = int(campaigns.discount_for(campaign, app.credit_price, campaigns.CREDIT))
    if discount <= 0:
        raise PurchaseRefused("discount_below_one_credit", "This campaign takes less than one credit off this app.")
    return discount


def _insufficient(balance, price):
    return PurchaseRefused(
        "insufficient_points",
        f"This app costs {price} credits and your balance is {balance}.",
        {"balance": balance, "price": price},
    )


def _price_changed(price):
    return PurchaseRefused(
        "price_changed", f"The price of this app is now {price} credits; nothing was charged.", {"price": price}
    )


def _check_can_buy(member, app, expected_price, price, *, owned):
    if not member.phone_verified:
        raise PurchaseRefused("phone_not_verified", "Verify your phone number before buying apps.")
    if not app.active:
        raise PurchaseRefused("app_inactive", "This app is no longer available.")
    if owned:
        raise PurchaseRefused("already_purchased", "You already own this app.")
    if expected_price is not None and expected_price != price:
        raise _price_changed(price)
    if member.points_balance < price:
        raise _insufficient(member.points_balance, price)


def refund_purchase(*, purchase, actor, reason):
    """Give the credits of `purchase` back with one reversing ledger entry; audited and notified. Returns it.

    Only staff with `commerce.refund_purchase` (Admins). A refunded purchase cannot be refunded again
    (`already_refunded`); the purchase row is locked so two admins at once refund once. The member may
    buy the app again afterwards.
    """
    if actor is None or not actor.is_active or not actor.has_perm(REFUND_PERM):
        raise PermissionDenied("Only admins can refund purchases.")
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not reason:
        raise PurchaseRefused("reason_required", "A reason is required to refund a purchase.")
    if len(reason) > REASON_MAX_LENGTH:
        raise PurchaseRefused("reason_too_long", f"Keep the reason under {REASON_MAX_LENGTH} characters.")
    with transaction.atomic():
        locked = Purchase.objects.select_for_update(of=("self",)).select_related("app", "member").get(pk=purchase.pk)
        if locked.refunded:
            raise PurchaseRefused("already_refunded", "This purchase was already refunded.")
        if locked.price_paid:
            locked.refund_entry = campaigns.give_points_back(
                to=locked.member, points=locked.price_paid, kind=Kind.REFUND, source=locked, actor=actor, reason=reason
            )
        if locked.redemption_id:
            # The discount's use, budget and points go back too (one `void` entry when it cost points; audited).
            campaigns.void_for_refund(locked.redemption, actor=actor, reason=reason)
        locked.refunded_at = timezone.now()
        locked.refunded_by = actor
        locked.refund_reason = reason
        locked._history_user = actor
        locked.save(update_fields=["refund_entry", "refunded_at", "refunded_by", "refund_reason", "updated_at"])
        notify_user(
            locked.member,
            f"Your purchase of {locked.app.name} was refunded",
            f"{locked.price_paid} credits were returned to your balance. Reason: {reason}",
        )
        publish("purchase.refunded", purchase_payload(locked))
    return locked


def purchase_payload(purchase):
    """The event payload of a purchase (webhooks send it as is)."""
    return {
        "id": purchase.pk,
        "member_id": purchase.member_id,
        "app_id": purchase.app_id,
        "price_paid": purchase.price_paid,
        "redemption_id": purchase.redemption_id,
        "created_at": purchase.created_at.isoformat(),
        "refunded_at": purchase.refunded_at.isoformat() if purchase.refunded_at else None,
    }
