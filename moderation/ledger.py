"""The rewards ledger: `post_entry` is the only way a user's points change."""

from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

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
    source_type = ContentType.objects.get_for_model(source) if source is not None else None
    line = _Line(
        user_id=user.pk,
        amount=amount,
        kind=kind,
        source_type_id=source_type.pk if source_type else None,
        source_id=source.pk if source is not None else None,
        actor_id=actor.pk if actor is not None else None,
        reason=reason,
        allow_negative=allow_negative,
    )
    post = _post_in_one_statement if connection.vendor == "postgresql" else _post_portably
    posting = post(line)
    if posting.created:
        user.points_balance = posting.entry.balance_after
    return posting


class _Line(NamedTuple):
    """One ledger line as post_entry was asked to write it."""

    user_id: int
    amount: int
    kind: str
    source_type_id: int | None
    source_id: int | None
    actor_id: int | None
    reason: str
    allow_negative: bool

    def entry_fields(self):
        return {name: value for name, value in self._asdict().items() if name != "allow_negative"}

    @property
    def deduplicated(self):
        return self.source_id is not None and self.kind != RewardEntry.Kind.ADJUST

    def existing(self):
        """The entry already posted for this (kind, source), or None."""
        if not self.deduplicated:
            return None
        return RewardEntry.objects.filter(
            kind=self.kind, source_type_id=self.source_type_id, source_id=self.source_id
        ).first()


def _post_in_one_statement(line):
    """PostgreSQL: lock the user row, insert the entry and move the balance in one statement (atomic by itself,
    so no savepoint either).

    The CTEs run in data order (lock → insert → update), so the balance moves only when the entry is inserted.
    ON CONFLICT DO NOTHING lets the unique (kind, source) constraint refuse a second credit without a savepoint
    or a SELECT beforehand; the refused and the duplicate cases (no entry) are told apart afterwards, off the
    hot path.
    """
    quote = connection.ops.quote_name
    user_table, entry_table = quote(get_user_model()._meta.db_table), quote(RewardEntry._meta.db_table)
    sql = f"""
        WITH locked AS (
            SELECT id, points_balance FROM {user_table} WHERE id = %(user_id)s FOR UPDATE
        ), entry AS (
            INSERT INTO {entry_table}
                (user_id, amount, kind, source_type_id, source_id, actor_id, reason, balance_after, created_at)
            SELECT id, %(amount)s::integer, %(kind)s, %(source_type_id)s::integer, %(source_id)s::bigint,
                %(actor_id)s::bigint, %(reason)s, points_balance + %(amount)s::integer, %(now)s::timestamptz
            FROM locked WHERE %(allow_negative)s OR points_balance + %(amount)s >= 0
            ON CONFLICT DO NOTHING
            RETURNING id, balance_after, created_at
        ), moved AS (
            UPDATE {user_table} SET points_balance = entry.balance_after FROM entry WHERE {user_table}.id = %(user_id)s
        )
        SELECT locked.points_balance, entry.id, entry.created_at FROM locked LEFT JOIN entry ON true
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {**line._asdict(), "now": timezone.now()})
        row = cursor.fetchone()
    if row is None:
        raise get_user_model().DoesNotExist(f"No user {line.user_id}.")
    balance, entry_id, created_at = row
    if entry_id is not None:
        entry = RewardEntry(
            id=entry_id, balance_after=balance + line.amount, created_at=created_at, **line.entry_fields()
        )
        entry._state.adding = False
        return Posting(entry, True)
    existing = line.existing()
    if existing is not None:
        return Posting(existing, False)
    raise InsufficientPoints(balance, line.amount)


def _post_portably(line):
    """Any other database (SQLite in development): lock the user row, check for the entry, insert, update."""
    User = get_user_model()
    with transaction.atomic():
        locked = User.objects.select_for_update().only("id", "points_balance").get(pk=line.user_id)
        existing = line.existing()
        if existing is not None:
            return Posting(existing, False)
        balance = locked.points_balance + line.amount
        if balance < 0 and not line.allow_negative:
            raise InsufficientPoints(locked.points_balance, line.amount)
        try:
            with transaction.atomic():
                entry = RewardEntry.objects.create(balance_after=balance, **line.entry_fields())
        except IntegrityError:
            existing = line.existing()
            if existing is None:
                raise
            return Posting(existing, False)
        User.objects.filter(pk=locked.pk).update(points_balance=balance)
    return Posting(entry, True)


def entry_for(*, kind, source):
    """The entry of `kind` posted for `source` (unique for every kind but adjust), or None."""
    return RewardEntry.objects.filter(
        kind=kind, source_type=ContentType.objects.get_for_model(source), source_id=source.pk
    ).first()
