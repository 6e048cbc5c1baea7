"""The redeem path's statements on PostgreSQL: three round trips instead of seven, no ORM compilation per request.

`campaigns._redeem` on PostgreSQL runs, after BEGIN:

1. `lock_member`: the member row locked (FOR UPDATE), only the columns eligibility reads. It is its own statement:
   READ COMMITTED takes a statement's snapshot when it starts, so reads in the statement that waited for the lock
   would miss the redemption the lock holder just committed (per-user limit, idempotency, stacking).
2. `read_for_redeem`: the campaign with its counters and terms version, whether the cart's app is eligible, the
   member's live uses of it, and the member's redemptions under this key or on this cart, in one statement; when a
   points cost is expected it also reserves the redemption's id, so the ledger entry (whose source it is) is posted
   before the counter claim and the claim stays the last statement before COMMIT.
3. `insert_claimed`: one CTE claiming a counter shard (`campaign_counters.claim_sql`), inserting the redemption
   from the claim (nothing is inserted when no shard has room) and its simple-history row, as
   `Redemption.objects.create` and simple-history's post_save would write them.

The statements are built once per process (the models do not change at run time). The ORM path in `campaigns` (used
on SQLite) writes the same rows; `growth/tests/test_redemption_sql.py` holds the two to it.
"""

import functools

from django.contrib.auth import get_user_model
from django.db import connection
from simple_history.models import HistoricalRecords

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


@functools.cache
def _lock_sql():
    return (
        f"SELECT {', '.join(_quote(f) for f in MEMBER_FIELDS)} FROM {_quote(get_user_model()._meta.db_table)} "
        f"WHERE id = %s FOR UPDATE"
    )


def lock_member(*, user_id):
    """Lock the member's row; returns the member with MEMBER_FIELDS loaded (the rest deferred)."""
    with connection.cursor() as cursor:
        cursor.execute(_lock_sql(), [user_id])
        row = cursor.fetchone()
    User = get_user_model()
    if row is None:
        raise User.DoesNotExist(f"No user {user_id}.")
    return User.from_db(connection.alias, MEMBER_FIELDS, row)


@functools.cache
def _read_sql():
    campaign, shard = _quote(Campaign._meta.db_table), _quote(CampaignCounterShard._meta.db_table)
    redemption = _quote(Redemption._meta.db_table)
    app_links = _quote(Campaign.eligible_apps.through._meta.db_table)
    category_links = _quote(Campaign.eligible_categories.through._meta.db_table)
    return f"""
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
    """


def read_for_redeem(*, campaign_id, user, app, idempotency_key, cart_reference, reserve_id):
    """The campaign (with `uses_count`, `budget_spent`, `terms_version`, `used_by_user`, `allows_app` and
    `reserved_id` set) and the member's redemptions under `idempotency_key` or live on `cart_reference`, as
    Redemption instances carrying their campaign's `stackable`. Run it with the member's row locked."""
    params = {
        "campaign_id": campaign_id,
        "user_id": user.pk,
        "app_id": getattr(app, "pk", None),
        "categories": [c for c in (getattr(app, "category_id", None), getattr(app, "subcategory_id", None)) if c],
        "key": idempotency_key,
        "cart": cart_reference,
        "reserve_id": bool(reserve_id),
    }
    with connection.cursor() as cursor:
        cursor.execute(_read_sql(), params)
        rows = cursor.fetchall()
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


@functools.cache
def _insert_sql(claim):
    """The redemption and its history row; with `claim` ("free" or "wait": campaign_counters.claim_sql), only when
    a counter shard was claimed in the same statement (the CTEs run in data order: claim, then insert, history)."""
    columns = [field.column for field in Redemption._meta.concrete_fields]
    if set(columns) != set(INSERT_VALUES) or Redemption._meta.db_table != "growth_redemption":
        raise RuntimeError(f"Redemption's columns changed ({columns}): update redemption_sql.INSERT_VALUES.")
    table, history = _quote(Redemption._meta.db_table), _quote(Redemption.history.model._meta.db_table)
    names = ", ".join(_quote(c) for c in columns)
    claimed = f"claimed AS ({campaign_counters.claim_sql(wait=claim == 'wait')}), " if claim else ""
    return f"""
        WITH {claimed}redemption AS (
            INSERT INTO {table} ({names})
            SELECT {", ".join(INSERT_VALUES[c] for c in columns)} {"FROM claimed" if claim else ""}
            RETURNING {names}
        ), history AS (
            INSERT INTO {history} ({names}, history_date, history_change_reason, history_type, history_user_id)
            SELECT {names}, %(now)s, NULL, '+', %(history_user_id)s FROM redemption
        )
        SELECT id FROM redemption
    """


def insert_claimed(*, redemption, claim):
    """Insert the unsaved `redemption` (with its id, or a new one) and its history row; with `claim` ("free": a shard
    nobody holds; "wait": one that may be held, waited for), only if a counter shard with room under its campaign's
    terms version was claimed in the same statement. Returns the new id, or None when none was (nothing written)."""
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
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(claim), params)
        row = cursor.fetchone()
    return None if row is None else row[0]


def history_user_id():
    """The history row's user, as simple-history picks it for a new row without `_history_user`: the request's
    user when one is authenticated (HistoryRequestMiddleware), else none."""
    user = getattr(getattr(HistoricalRecords.context, "request", None), "user", None)
    return user.pk if user is not None and user.is_authenticated else None
