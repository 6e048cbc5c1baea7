"""Write paths for app purchases: buying an app with credits (points) and refunding it."""

import hashlib
import json

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone

from backoffice.events import publish
from backoffice.services import notify_user
from moderation.ledger import InsufficientPoints, post_entry
from moderation.models import RewardEntry

from .errors import PurchaseRefused
from .models import Purchase

IDEMPOTENCY_KEY_MAX_LENGTH = 64
REFUND_PERM = "commerce.refund_purchase"
REASON_MAX_LENGTH = 1000


def request_hash(*, app, expected_price=None):
    """A fingerprint of what a keyed request asked for; a replay with the same key must ask for the same."""
    body = json.dumps({"app": app.pk, "expected_price": expected_price}, sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()


def _check_key(idempotency_key):
    if not isinstance(idempotency_key, str) or not 1 <= len(idempotency_key.strip()) <= IDEMPOTENCY_KEY_MAX_LENGTH:
        raise PurchaseRefused(
            "idempotency_key_required",
            f"Send an Idempotency-Key of 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} characters.",
        )
    return idempotency_key.strip()


def buy_app(*, member, app, idempotency_key, expected_price=None):
    """Buy `app` for `member` with credits, once per idempotency key. Returns (purchase, created).

    The member row is locked first, so one member's concurrent requests serialize: the second sees the
    first purchase (same key: a replay; another key: `already_purchased`). A partial unique constraint
    (one unrefunded purchase per member and app) backs this up. The price is debited through the ledger
    in the same transaction; a free app is "bought" once with no ledger entry. `expected_price` is the
    price the member was shown: when it no longer matches, nothing is charged (`price_changed`).
    """
    key = _check_key(idempotency_key)
    fingerprint = request_hash(app=app, expected_price=expected_price)
    User = get_user_model()
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=member.pk)
        previous = Purchase.objects.filter(member=locked, idempotency_key=key).first()
        if previous is not None:
            if previous.request_hash != fingerprint:
                raise PurchaseRefused(
                    "idempotency_key_reused", "This Idempotency-Key was already used for another request."
                )
            return previous, False
        _check_can_buy(locked, app, expected_price)
        price = app.credit_price
        try:
            with transaction.atomic():
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
            purchase.save(update_fields=["entry", "updated_at"])
        publish("purchase.created", purchase_payload(purchase))
    member.points_balance = locked.points_balance
    return purchase, True


def _insufficient(balance, price):
    return PurchaseRefused(
        "insufficient_points",
        f"This app costs {price} credits and your balance is {balance}.",
        {"balance": balance, "price": price},
    )


def _check_can_buy(member, app, expected_price):
    if not member.phone_verified:
        raise PurchaseRefused("phone_not_verified", "Verify your phone number before buying apps.")
    if not app.active:
        raise PurchaseRefused("app_inactive", "This app is no longer available.")
    if Purchase.objects.filter(member=member, app=app, refunded_at__isnull=True).exists():
        raise PurchaseRefused("already_purchased", "You already own this app.")
    if expected_price is not None and expected_price != app.credit_price:
        raise PurchaseRefused(
            "price_changed",
            f"The price of this app is now {app.credit_price} credits; nothing was charged.",
            {"price": app.credit_price},
        )
    if member.points_balance < app.credit_price:
        raise _insufficient(member.points_balance, app.credit_price)


def refund_purchase(purchase, *, actor, reason):
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
            locked.refund_entry, _ = post_entry(
                user=locked.member,
                amount=locked.price_paid,
                kind=RewardEntry.Kind.REFUND,
                source=locked,
                actor=actor,
                reason=reason,
            )
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
        "created_at": purchase.created_at.isoformat(),
        "refunded_at": purchase.refunded_at.isoformat() if purchase.refunded_at else None,
    }
