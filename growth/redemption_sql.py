"""The redeem path's statements on PostgreSQL: two round trips instead of seven, BEGIN and COMMIT included, no ORM
compilation per request, and prepared once per database session (backoffice.prepared), not parsed and planned per
redemption.

`campaigns._redeem` on PostgreSQL sends two multi-statement strings (Django's psycopg cursors bind client-side and
use the simple query protocol, which runs several statements in one round trip, each with its own snapshot):

1. `lock_and_read`: BEGIN (backoffice.prepared sends it with a transaction's first string), the member row locked
   (FOR UPDATE, only the columns eligibility reads), THEN, as a second statement of the same string, the campaign
   with its counters and terms version, whether the cart's app is eligible, the member's live uses of it, and the
   member's redemptions under this key or on this cart; when a points cost is expected it also reserves the
   redemption's id, so the ledger entry (whose source it is) is posted before the counter claim and the claim stays
   the last statement before COMMIT. The read is its own statement:
   READ COMMITTED takes a statement's snapshot when it starts, so reads in the statement that waited for the lock
   would miss the redemption the lock holder just committed (per-user limit, idempotency, stacking); the second
   statement starts once the lock is held.
2. `insert_claimed`: one CTE claiming a counter shard (`campaign_counters.claim_sql`), inserting the redemption
   from the claim and its simple-history row, as `Redemption.objects.create` and simple-history's post_save would
   write them. When no shard has room the statement fails (`NothingClaimed`: nothing is written, the transaction
   is aborted); so, when the redemption's transaction is the outermost one, its COMMIT travels in the same string.

The statements are built once per process (the models do not change at run time). The ORM path in `campaigns` (used
on SQLite) writes the same rows; `growth/tests/test_redemption_sql.py` holds the two to it.
"""

import functools

from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection
from simple_history.models import HistoricalRecords

from backoffice.prepared import prepared, run

from . import campaign_counters
from .models import Campaign, CampaignCounterShard, Redemption


def _in_model_order(model, names):
    """`names` in the model's field order: `Model.from_db` assigns a subset of values in that order."""
    return tuple(field.attname for field in model._meta.concrete_fields if field.attname in names)


# The member's columns the redeem path reads: eligibility (phone, audience) and the points balance.
MEMBER_FIELDS = _in_model_order(get_user_model(), {"id", "points_balance", "phone_verified_at", "date_joined"})
CAMPAIGN_FIELDS = _in_model_order(Campaign, {field.attname for field in Campaign._meta.concrete_fields})
# What the stacking and idempotency checks read of the member's redemptions under this key or on this cart.
MINE_FIELDS = _in_model_order(
    Redemption,
    {"id", "idempotency_key", "campaign_id", "cart_total", "app_id", "cart_reference", "discount_amount", "voided_at"},
)


def _quote(name):
    return connection.ops.quote_name(name)


# Every parameter of the statements below and its type (the PREPARE declares them; an INSERT ... SELECT cannot infer).
PARAM_TYPES = {
    "user_id": "bigint",
    "campaign_id": "bigint",
    "app_id": "bigint",
    "categories": "bigint[]",
    "key": "text",
    "cart": "text",
    "reserve_id": "boolean",
    "id": "bigint",
    "idempotency_key": "text",
    "cart_reference": "text",
    "cart_total": "numeric",
    "discount": "numeric",
    "points_cost": "integer",
    "voucher_code": "text",
    "now": "timestamptz",
    "history_user_id": "bigint",
    "terms_version": "integer",
}


@functools.cache
def _lock_sql():
    return prepared(
        "growth_redeem_lock",
        f"SELECT {', '.join(_quote(f) for f in MEMBER_FIELDS)} FROM {_quote(get_user_model()._meta.db_table)} "
        f"WHERE id = %(user_id)s FOR UPDATE",
        PARAM_TYPES,
    )


def lock_and_read(*, user_id, campaign_id, app, idempotency_key, cart_reference, reserve_id):
    """Lock the member's row, then read as `read_for_redeem` does: two statements in one string (one round trip),
    the second starting once the first holds the lock. Returns the member (with MEMBER_FIELDS loaded, the rest
    deferred), the campaign and the member's redemptions (see `read_for_redeem`)."""
    params = _read_params(campaign_id, user_id, app, idempotency_key, cart_reference, reserve_id)
    with connection.cursor() as cursor:
        run(cursor, [_lock_sql(), _read_sql()], params)
        member = cursor.fetchone()
        cursor.nextset()
        rows = cursor.fetchall()
    User = get_user_model()
    if member is None:
        raise User.DoesNotExist(f"No user {user_id}.")
    return (User.from_db(connection.alias, MEMBER_FIELDS, member), *_from_read(campaign_id, rows))


@functools.cache
def _read_sql():
    campaign, shard = _quote(Campaign._meta.db_table), _quote(CampaignCounterShard._meta.db_table)
    redemption = _quote(Redemption._meta.db_table)
    app_links = _quote(Campaign.eligible_apps.through._meta.db_table)
    category_links = _quote(Campaign.eligible_categories.through._meta.db_table)
    return prepared(
        "growth_redeem_read",
        f"""
        WITH c AS MATERIALIZED (
            SELECT {", ".join(f"c.{_quote(f)}" for f in CAMPAIGN_FIELDS)},
                CASE WHEN %(reserve_id)s THEN nextval(pg_get_serial_sequence('{Redemption._meta.db_table}', 'id'))
                END AS reserved_id
            FROM {campaign} c WHERE c.id = %(campaign_id)s
        )
        SELECT {", ".join(f"c.{_quote(f)}" for f in CAMPAIGN_FIELDS)},
            COALESCE(s.uses_count, 0), COALESCE(s.budget_spent, 0), s.terms_version,
            (SELECT count(*) FROM {redemption} u
             WHERE u.campaign_id = c.id AND u.user_id = %(user_id)s AND u.voided_at IS NULL),
            (NOT EXISTS (SELECT 1 FROM {app_links} WHERE campaign_id = c.id)
                AND NOT EXISTS (SELECT 1 FROM {category_links} WHERE campaign_id = c.id))
            OR EXISTS (SELECT 1 FROM {app_links} WHERE campaign_id = c.id AND app_id = %(app_id)s)
            OR EXISTS (SELECT 1 FROM {category_links}
                       WHERE campaign_id = c.id AND category_id = ANY(%(categories)s::bigint[])),
            c.reserved_id,
            {", ".join(f"m.{_quote(f)}" for f in MINE_FIELDS)}, m.stackable
        FROM c
        LEFT JOIN LATERAL (
            SELECT sum(uses_count) AS uses_count, sum(budget_spent) AS budget_spent, max(terms_version) AS terms_version
            FROM {shard} WHERE campaign_id = c.id
        ) s ON true
        LEFT JOIN LATERAL (
            SELECT {", ".join(f"r.{_quote(f)}" for f in MINE_FIELDS)}, rc.stackable
            FROM {redemption} r JOIN {campaign} rc ON rc.id = r.campaign_id
            WHERE r.user_id = %(user_id)s
                AND (r.idempotency_key = %(key)s OR (r.cart_reference = %(cart)s AND r.voided_at IS NULL))
        ) m ON true
    """,
        PARAM_TYPES,
    )


def read_for_redeem(*, campaign_id, user, app, idempotency_key, cart_reference, reserve_id):
    """The campaign (with `uses_count`, `budget_spent`, `terms_version`, `used_by_user`, `allows_app` and
    `reserved_id` set) and the member's redemptions under `idempotency_key` or live on `cart_reference`, as
    Redemption instances carrying their campaign's `stackable`. Run it with the member's row locked."""
    with connection.cursor() as cursor:
        run(cursor, [_read_sql()], _read_params(campaign_id, user.pk, app, idempotency_key, cart_reference, reserve_id))
        return _from_read(campaign_id, cursor.fetchall())


def _read_params(campaign_id, user_id, app, idempotency_key, cart_reference, reserve_id):
    return {
        "campaign_id": campaign_id,
        "user_id": user_id,
        "app_id": getattr(app, "pk", None),
        "categories": [c for c in (getattr(app, "category_id", None), getattr(app, "subcategory_id", None)) if c],
        "key": idempotency_key,
        "cart": cart_reference,
        "reserve_id": bool(reserve_id),
    }


def _from_read(campaign_id, rows):
    if not rows:
        raise Campaign.DoesNotExist(f"No campaign {campaign_id}.")
    width = len(CAMPAIGN_FIELDS)
    first = rows[0]
    current = Campaign.from_db(connection.alias, CAMPAIGN_FIELDS, first[:width])
    (
        current.uses_count,
        current.budget_spent,
        current.terms_version,
        current.used_by_user,
        current.allows_app,
        current.reserved_id,
    ) = first[width : width + 6]
    mine = []
    for row in rows:
        *values, stackable = row[width + 6 :]
        if values[0] is None:  # no redemption under this key or on this cart (the LEFT JOIN's empty side)
            continue
        redemption = Redemption.from_db(connection.alias, MINE_FIELDS, values)
        redemption.campaign = Campaign(pk=redemption.campaign_id, stackable=stackable)
        mine.append(redemption)
    return current, mine


# Every column of a new redemption and the value it gets: what `Redemption.objects.create` writes.
INSERT_VALUES = {
    "id": "COALESCE(%(id)s::bigint, nextval(pg_get_serial_sequence('growth_redemption', 'id')))",
    "campaign_id": "%(campaign_id)s",
    "user_id": "%(user_id)s",
    "idempotency_key": "%(idempotency_key)s",
    "app_id": "%(app_id)s",
    "cart_reference": "%(cart_reference)s",
    "cart_total": "%(cart_total)s",
    "discount_amount": "%(discount)s",
    "points_cost": "%(points_cost)s",
    "voucher_code": "%(voucher_code)s",
    "created_at": "%(now)s",
    "voided_at": "NULL",
    "voided_by_id": "NULL",
    "void_reason": "''",
}


# Raised by the insert when no counter shard was claimed (a PL/pgSQL function: migration 0010), so the statement
# fails and a COMMIT sent with it does not commit what came before it (the points debit).
NOTHING_CLAIMED_SQLSTATE = "GR001"
NOTHING_CLAIMED_FUNCTION = "growth_nothing_claimed"


class NothingClaimed(Exception):
    """The insert found no counter shard with room: nothing was written and the transaction is aborted."""


@functools.cache
def _insert_sql(claim):
    """The redemption and its history row; with `claim` ("free" or "wait": campaign_counters.claim_sql), only when
    a counter shard was claimed in the same statement (the CTEs run in data order: claim, then insert, history), and
    the statement fails when none was."""
    columns = [field.column for field in Redemption._meta.concrete_fields]
    if set(columns) != set(INSERT_VALUES) or Redemption._meta.db_table != "growth_redemption":
        raise RuntimeError(f"Redemption's columns changed ({columns}): update redemption_sql.INSERT_VALUES.")
    table, history = _quote(Redemption._meta.db_table), _quote(Redemption.history.model._meta.db_table)
    names = ", ".join(_quote(c) for c in columns)
    claimed = f"claimed AS ({campaign_counters.claim_sql(wait=claim == 'wait')}), " if claim else ""
    # COALESCE evaluates its second argument only when the first is NULL: nothing inserted.
    new_id = f"COALESCE((SELECT id FROM redemption), {NOTHING_CLAIMED_FUNCTION}())" if claim else "id"
    return prepared(
        f"growth_redeem_insert{'_' + claim if claim else ''}",
        f"""
        WITH {claimed}redemption AS (
            INSERT INTO {table} ({names})
            SELECT {", ".join(INSERT_VALUES[c] for c in columns)} {"FROM claimed" if claim else ""}
            RETURNING {names}
        ), history AS (
            INSERT INTO {history} ({names}, history_date, history_change_reason, history_type, history_user_id)
            SELECT {names}, %(now)s, NULL, '+', %(history_user_id)s FROM redemption
        )
        SELECT {new_id} {"" if claim else "FROM redemption"}
    """,
        PARAM_TYPES,
    )


def insert_claimed(*, redemption, claim, commit=False):
    """Insert the unsaved `redemption` (with its id, or a new one) and its history row; with `claim` ("free": a shard
    nobody holds; "wait": one that may be held, waited for), only if a counter shard with room under its campaign's
    terms version was claimed in the same statement, else `NothingClaimed` (nothing written; roll back). With
    `commit`, the transaction commits in the same round trip: only the outermost transaction's last statement may
    ask for it (see `backoffice.prepared.commit_travels_with`). Returns the new id."""
    params = {
        "id": redemption.pk,
        "idempotency_key": redemption.idempotency_key,
        "cart_reference": redemption.cart_reference,
        "cart_total": redemption.cart_total,
        "discount": redemption.discount_amount,
        "points_cost": redemption.points_cost,
        "voucher_code": redemption.voucher_code,
        "now": redemption.created_at,
        "campaign_id": redemption.campaign_id,
        "user_id": redemption.user_id,
        "app_id": redemption.app_id,
        "history_user_id": history_user_id(),
        "terms_version": redemption.campaign.terms_version,
    }
    try:
        with connection.cursor() as cursor:
            run(cursor, [_insert_sql(claim)], params, then="COMMIT" if commit else "")
            return cursor.fetchone()[0]
    except DatabaseError as error:
        if getattr(error.__cause__, "sqlstate", None) == NOTHING_CLAIMED_SQLSTATE:
            raise NothingClaimed() from error
        raise


def history_user_id():
    """The history row's user, as simple-history picks it for a new row without `_history_user`: the request's
    user when one is authenticated (HistoryRequestMiddleware), else none."""
    user = getattr(getattr(HistoricalRecords.context, "request", None), "user", None)
    return user.pk if user is not None and user.is_authenticated else None
