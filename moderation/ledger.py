"""The rewards ledger: `post_entry` is the only way a user's points change."""

from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction

from backoffice.errors import DomainError

from .models import RewardEntry


class InsufficientPoints(DomainError):
    """The entry would take the user's balance below zero."""

    def __init__(self, balance, amount):
        self.balance, self.amount = balance, amount
        super().__init__(
            "insufficient_points",
            f"The balance is {balance} points; {-amount} cannot be taken.",
            {"balance": balance, "amount": amount},
        )


class Posting(NamedTuple):
    """What `post_entry` did: the entry (new, or the one already posted for that source) and whether it is new."""

    entry: RewardEntry
    created: bool


def post_entry(*, user, amount, kind, source=None, actor=None, reason="", allow_negative=False):
    """Append one ledger entry and move the user's balance by the same amount, atomically.

    The user row is locked for the length of the transaction, so concurrent entries for one user
    serialize. For every kind but `adjust`, (kind, source) is unique: posting the same credit twice
    returns the existing entry instead of crediting again. Returns a Posting.

    A balance never goes below zero unless the caller says `allow_negative` (an explicit admin decision).
    """
    if amount == 0:
        raise ValueError("A ledger entry must move the balance.")
    User = get_user_model()
    source_type = ContentType.objects.get_for_model(source) if source is not None else None
    source_id = source.pk if source is not None else None
    with transaction.atomic():
        locked = User.objects.select_for_update().only("id", "points_balance").get(pk=user.pk)
        if source is not None and kind != RewardEntry.Kind.ADJUST:
            existing = RewardEntry.objects.filter(kind=kind, source_type=source_type, source_id=source_id).first()
            if existing is not None:
                return Posting(existing, False)
        balance = locked.points_balance + amount
        if balance < 0 and not allow_negative:
            raise InsufficientPoints(locked.points_balance, amount)
        try:
            with transaction.atomic():
                entry = RewardEntry.objects.create(
                    user_id=locked.pk,
                    amount=amount,
                    kind=kind,
                    source_type=source_type,
                    source_id=source_id,
                    actor=actor,
                    reason=reason,
                    balance_after=balance,
                )
        except IntegrityError:
            existing = RewardEntry.objects.filter(kind=kind, source_type=source_type, source_id=source_id).first()
            if existing is None:
                raise
            return Posting(existing, False)
        User.objects.filter(pk=locked.pk).update(points_balance=balance)
    user.points_balance = balance
    return Posting(entry, True)


def entry_for(*, kind, source):
    """The entry of `kind` posted for `source` (unique for every kind but adjust), or None."""
    return RewardEntry.objects.filter(
        kind=kind, source_type=ContentType.objects.get_for_model(source), source_id=source.pk
    ).first()
