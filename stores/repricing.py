"""Automatic repricing: each product's target price from its rule and its competitors' current offers.

The target is computed from the lowest *usable* competitor offer: fresh (seen within
REPRICING_STALE_OFFER_HOURS), in stock, not from an excluded competitor, and not suspicious (below
REPRICING_SUSPICIOUS_FRACTION of our price: a typo or a bait, flagged and never followed). The strategy
beats it by an amount or a percentage, or matches it; the result is rounded down to the rule's step and
kept within [floor, ceiling]. With no usable offer the price goes to the ceiling (or holds, per rule).

A run writes one RepricingDecision per product whose price would change. In live mode it also writes the
prices, their ProductPriceChange rows (source `repricer`, cause naming the decision, which names the
offer followed) and the products' simple-history rows with set-based statements, not one save per product.
In suggest mode the decisions wait for an Admin to accept them (in bulk), through the same statements.

On PostgreSQL the decisions are computed and inserted by the server in one statement
(`_insert_decisions_in_sql`) and the price, history and price-change writes are one statement too; SQLite
(the embedded default) runs `compute_decisions` in Python. A test holds both to the same decisions.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_FLOOR, Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from backoffice.errors import DomainError
from catalog.models import Product, ProductPriceChange

from .models import CompetitorListing, RepricingDecision, RepricingRule, RepricingRun

CENT = Decimal("0.01")
# The product columns its simple-history rows copy (every tracked field).
HISTORY_TRACKED_COLUMNS = [field.column for field in Product._meta.concrete_fields]
HUNDRED = Decimal("100")
BATCH = 5000


class RepricingRefused(DomainError):
    pass


@dataclass(frozen=True)
class Target:
    price: Decimal
    lowest_listing_id: int | None
    at_floor: bool


def round_down(value, step):
    return ((value / step).to_integral_value(rounding=ROUND_FLOOR) * step).quantize(CENT)


def target_price(rule, current_price, lowest_price, lowest_listing_id=None):
    """The price `rule` asks for, given the lowest usable competitor price (None: no usable offer)."""
    if lowest_price is None:
        price = rule.ceiling if rule.ceiling_when_alone else current_price
        return Target(min(max(price, rule.floor), rule.ceiling), None, False)
    if rule.strategy == RepricingRule.Strategy.BEAT_BY_AMOUNT:
        wanted = lowest_price - rule.beat_by
    elif rule.strategy == RepricingRule.Strategy.BEAT_BY_PERCENT:
        wanted = lowest_price * (HUNDRED - rule.beat_by) / HUNDRED
    else:
        wanted = lowest_price
    wanted = round_down(wanted, rule.step)
    price = min(max(wanted, rule.floor), rule.ceiling)
    return Target(price, lowest_listing_id, wanted < rule.floor)


def offer_cutoff(now=None):
    return (now or timezone.now()) - timedelta(hours=settings.REPRICING_STALE_OFFER_HOURS)


class RuleBook:
    """Every active rule, loaded once: the product's own rule, else its store's default."""

    def __init__(self, store_ids=None):
        rules = RepricingRule.objects.filter(active=True)
        if store_ids is not None:
            rules = rules.filter(store_id__in=store_ids)
        self.by_product, self.by_store, self.by_id = {}, {}, {}
        for rule in rules:
            self.by_id[rule.pk] = rule
            rule.excluded_ids = set()
            if rule.product_id:
                self.by_product[rule.product_id] = rule
            else:
                self.by_store[rule.store_id] = rule
        through = RepricingRule.excluded_competitors.through.objects.filter(repricingrule_id__in=self.by_id)
        for rule_id, competitor_id in through.values_list("repricingrule_id", "competitor_id"):
            self.by_id[rule_id].excluded_ids.add(competitor_id)

    def for_product(self, product_id, store_id):
        return self.by_product.get(product_id) or self.by_store.get(store_id)


def _grouped_listings(store, now, per_product):
    """(product_id, [(listing_id, competitor_id, price, suspicious)...] cheapest first), one group per product.

    The database ranks each product's usable offers (a window over the listing_product_fresh index) and sends
    only what the rules can need: the `per_product` cheapest sensible offers (1 + the most competitors any
    rule excludes) and the cheapest suspicious one, carrying the product's count of suspicious offers.
    Plain SQL window functions: the same statement on PostgreSQL and SQLite.
    """
    listing, product = CompetitorListing._meta.db_table, Product._meta.db_table
    shop = CompetitorListing._meta.get_field("competitor_store").related_model._meta.db_table
    params = [settings.REPRICING_SUSPICIOUS_FRACTION, connection.ops.adapt_datetimefield_value(offer_cutoff(now))]
    store_filter = ""
    if store is not None:
        store_filter, params = "AND p.store_id = %s", [*params, store.pk]
    sql = f"""
        SELECT product_id, id, competitor_id, price, suspicious, suspicious_count FROM (
            SELECT product_id, id, competitor_id, price, suspicious,
                   SUM(suspicious) OVER (PARTITION BY product_id) AS suspicious_count,
                   ROW_NUMBER() OVER (PARTITION BY product_id, suspicious ORDER BY price, id) AS rank
            FROM (
                SELECT l.product_id, l.id, s.competitor_id, l.price,
                       CASE WHEN l.price < p.price * %s THEN 1 ELSE 0 END AS suspicious
                FROM {listing} l
                JOIN {product} p ON p.id = l.product_id
                JOIN {shop} s ON s.id = l.competitor_store_id
                WHERE l.in_stock AND l.seen_at >= %s AND p.active {store_filter}
            ) offers
        ) ranked
        WHERE rank <= %s OR (suspicious = 1 AND rank = 1)
        ORDER BY product_id, suspicious, price, id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, per_product])
        current, group = None, []
        while rows := cursor.fetchmany(20000):
            for product_id, listing_id, competitor_id, price, suspicious, suspicious_count in rows:
                if product_id != current:
                    if current is not None:
                        yield current, group
                    current, group = product_id, []
                price = Decimal(str(price)).quantize(CENT)  # SQLite hands back floats
                group.append((listing_id, competitor_id, price, int(suspicious), int(suspicious_count)))
        if current is not None:
            yield current, group


def compute_decisions(run, *, store=None, now=None):
    """Yield a decision row (values in DECISION_COLUMNS order) for every product whose price its rule would
    change, or that has suspicious offers to flag. Rows, not model instances: a run makes 100,000 of them."""
    now = now or timezone.now()
    products = Product.objects.filter(active=True)
    if store is not None:
        products = products.filter(store=store)
    book = RuleBook(None if store is None else [store.pk])
    with_own_rule = RepricingRule.objects.filter(active=True, product__isnull=False).values("product_id")
    products = products.filter(Q(store_id__in=list(book.by_store)) | Q(pk__in=with_own_rule))
    per_product = 1 + max((len(rule.excluded_ids) for rule in book.by_id.values()), default=0)
    # Both streams are in product id order: walk them side by side.
    listings = _grouped_listings(store, now, per_product)
    next_group = next(listings, None)
    counts = {"checked": 0, "suspicious": 0}
    rows = products.order_by("pk").values_list("pk", "store_id", "price").iterator(chunk_size=20000)
    for product_id, store_id, price in rows:
        rule = book.for_product(product_id, store_id)
        if rule is None:
            continue
        while next_group is not None and next_group[0] < product_id:
            next_group = next(listings, None)
        offers = next_group[1] if next_group is not None and next_group[0] == product_id else ()
        counts["checked"] += 1
        suspicious = offers[0][4] if offers else 0
        counts["suspicious"] += suspicious
        lowest = next((offer for offer in offers if not offer[3] and offer[1] not in rule.excluded_ids), None)
        target = target_price(rule, price, lowest[2] if lowest else None, lowest[0] if lowest else None)
        if target.price == price and not suspicious:
            continue
        live = rule.mode == RepricingRule.Mode.LIVE
        yield (
            run.pk,
            product_id,
            rule.pk,
            price,
            target.price,
            target.lowest_listing_id,
            suspicious,
            target.at_floor,
            RepricingDecision.Status.APPLIED if live else RepricingDecision.Status.SUGGESTED,
            now,
        )
    run.products_checked, run.suspicious_offers = counts["checked"], counts["suspicious"]


def _insert_decisions_in_sql(run, *, store=None, now):
    """PostgreSQL: the same decisions as compute_decisions, computed and written by the server in one statement.

    No row crosses the wire: for each product with a rule, one pass over its fresh in-stock offers counts the
    suspicious ones and takes the cheapest usable one (min over [price, id]: cheapest, then oldest listing, as
    the Python path ranks them), then target_price's arithmetic in numeric (exact, like Decimal). Returns
    (products checked, suspicious offers, suggestions). A test holds both paths to the same decisions.
    """
    listing, product = CompetitorListing._meta.db_table, Product._meta.db_table
    shop = CompetitorListing._meta.get_field("competitor_store").related_model._meta.db_table
    rule, decision = RepricingRule._meta.db_table, RepricingDecision._meta.db_table
    excluded = RepricingRule.excluded_competitors.through._meta.db_table
    store_filter, store_params = ("AND p.store_id = %s", [store.pk]) if store is not None else ("", [])
    S = RepricingRule.Strategy
    sql = f"""
        WITH candidate AS MATERIALIZED (
            SELECT p.id AS product_id, p.price, r.id AS rule_id, r.floor, r.ceiling, r.strategy, r.beat_by,
                   r.ceiling_when_alone, r.step, r.mode
            FROM {product} p
            LEFT JOIN {rule} own ON own.product_id = p.id AND own.active
            LEFT JOIN {rule} def ON def.store_id = p.store_id AND def.product_id IS NULL AND def.active
            JOIN {rule} r ON r.id = COALESCE(own.id, def.id)
            WHERE p.active {store_filter}
        ), offer AS (
            SELECT c.product_id,
                   count(*) FILTER (WHERE l.price < c.price * %(fraction)s) AS suspicious,
                   min(ARRAY[l.price, l.id]) FILTER (
                       WHERE l.price >= c.price * %(fraction)s AND e.competitor_id IS NULL
                   ) AS lowest
            FROM candidate c
            JOIN {listing} l ON l.product_id = c.product_id
            JOIN {shop} s ON s.id = l.competitor_store_id
            LEFT JOIN {excluded} e ON e.repricingrule_id = c.rule_id AND e.competitor_id = s.competitor_id
            WHERE l.in_stock AND l.seen_at >= %(cutoff)s
            GROUP BY c.product_id
        ), wanted AS (
            SELECT c.*, COALESCE(o.suspicious, 0) AS suspicious, o.lowest[2]::bigint AS lowest_listing_id,
                   floor(CASE c.strategy
                             WHEN %(beat_amount)s THEN o.lowest[1] - c.beat_by
                             WHEN %(beat_percent)s THEN o.lowest[1] * (100 - c.beat_by) / 100
                             ELSE o.lowest[1] END / c.step) * c.step AS wanted
            FROM candidate c LEFT JOIN offer o ON o.product_id = c.product_id
        ), target AS (
            SELECT w.*, round(LEAST(GREATEST(COALESCE(w.wanted, CASE WHEN w.ceiling_when_alone THEN w.ceiling
                                                                      ELSE w.price END), w.floor), w.ceiling), 2)
                        AS new_price
            FROM wanted w
        ), written AS (
            INSERT INTO {decision} (run_id, product_id, rule_id, old_price, new_price, lowest_listing_id,
                                    suspicious_offers, at_floor, status, decided_at)
            SELECT %(run)s, product_id, rule_id, price, new_price, lowest_listing_id, suspicious,
                   COALESCE(wanted < floor, false),
                   CASE WHEN mode = %(live)s THEN %(applied)s ELSE %(suggested)s END, %(now)s
            FROM target WHERE new_price <> price OR suspicious > 0
            RETURNING status
        )
        SELECT (SELECT count(*) FROM candidate), (SELECT COALESCE(sum(suspicious), 0) FROM wanted),
               (SELECT count(*) FROM written WHERE status = %(suggested)s)
    """
    params = {
        "fraction": settings.REPRICING_SUSPICIOUS_FRACTION,
        "cutoff": offer_cutoff(now),
        "beat_amount": S.BEAT_BY_AMOUNT,
        "beat_percent": S.BEAT_BY_PERCENT,
        "run": run.pk,
        "live": RepricingRule.Mode.LIVE,
        "applied": RepricingDecision.Status.APPLIED,
        "suggested": RepricingDecision.Status.SUGGESTED,
        "now": now,
    }
    if store is not None:
        sql = sql.replace("AND p.store_id = %s", "AND p.store_id = %(store)s")
        params["store"] = store_params[0]
    with connection.cursor() as cursor:
        # JIT-compiling this plan costs seconds (its estimate is large) for a statement that runs in about one;
        # and the per-product aggregate (100,000 groups) spills to disk within PostgreSQL's default work_mem.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SELECT set_config('work_mem', %s, true)", [f"{settings.REPRICING_WORK_MEM_MB}MB"])
        cursor.execute(sql, params)
        return cursor.fetchone()


DECISION_COLUMNS = [
    "run_id",
    "product_id",
    "rule_id",
    "old_price",
    "new_price",
    "lowest_listing_id",
    "suspicious_offers",
    "at_floor",
    "status",
    "decided_at",
]


def _insert_decisions(rows):
    """bulk_create, or on PostgreSQL one COPY (the ORM's per-value preparation is most of a large run's time)."""
    if connection.vendor != "postgresql":
        RepricingDecision.objects.bulk_create(
            (RepricingDecision(**dict(zip(DECISION_COLUMNS, row, strict=True))) for row in rows), batch_size=BATCH
        )
        return
    table = RepricingDecision._meta.db_table
    columns = ", ".join(DECISION_COLUMNS)
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _write_prices(decision_filter_sql, params, now, actor=None):
    """Set each decided product's price and record its price change and history row, set-based.

    A product whose price moved since the decision (someone edited it) is left alone and its
    decision marked superseded.
    """
    decision = RepricingDecision._meta.db_table
    product = Product._meta.db_table
    change = ProductPriceChange._meta.db_table
    history = Product.history.model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {decision} SET status = %s WHERE {decision_filter_sql} AND NOT EXISTS "
            f"(SELECT 1 FROM {product} p WHERE p.id = {decision}.product_id AND p.price = {decision}.old_price)",
            [RepricingDecision.Status.SUPERSEDED, *params],
        )
        d_filter = decision_filter_sql.replace(decision + ".", "d.")
        history_columns = ", ".join(HISTORY_TRACKED_COLUMNS)
        user_id = getattr(actor, "pk", None)
        if connection.vendor == "postgresql":
            # One statement: the updated rows feed their history rows and price changes (no second join).
            returned = ", ".join(f"{product}.{column}" for column in HISTORY_TRACKED_COLUMNS)
            cursor.execute(
                f"WITH moved AS (UPDATE {product} SET price = d.new_price, updated_at = %s FROM {decision} d "
                f"WHERE d.product_id = {product}.id AND {product}.price = d.old_price AND d.old_price <> d.new_price "
                f"AND {d_filter} RETURNING {returned}, d.id AS decision_id, d.old_price AS old_price), "
                f"history AS (INSERT INTO {history} ({history_columns}, history_date, history_change_reason, "
                f"history_type, history_user_id) SELECT {history_columns}, %s, 'Repricer: decision ' || decision_id, "
                f"'~', %s FROM moved) "
                f"INSERT INTO {change} (product_id, old_price, new_price, source, cause, changed_at) "
                f"SELECT id, old_price, price, %s, 'repricing decision ' || decision_id, %s FROM moved",
                [now, *params, now, user_id, ProductPriceChange.Source.REPRICER, now],
            )
            return cursor.rowcount
        cursor.execute(
            f"UPDATE {product} SET price = d.new_price, updated_at = %s FROM {decision} d "
            f"WHERE d.product_id = {product}.id AND {product}.price = d.old_price AND d.old_price <> d.new_price "
            f"AND {d_filter}",
            [now, *params],
        )
        updated = cursor.rowcount
        # Each product's simple-history row, as its save() would have written it.
        tracked = ", ".join(f"p.{column}" for column in HISTORY_TRACKED_COLUMNS)
        cursor.execute(
            f"INSERT INTO {history} ({history_columns}, history_date, history_change_reason, history_type, "
            f"history_user_id) SELECT {tracked}, %s, 'Repricer: decision ' || d.id, '~', %s FROM {decision} d "
            f"JOIN {product} p ON p.id = d.product_id AND p.price = d.new_price AND p.updated_at = %s "
            f"WHERE {d_filter} AND d.old_price <> d.new_price",
            [now, user_id, now, *params],
        )
        cursor.execute(
            f"INSERT INTO {change} (product_id, old_price, new_price, source, cause, changed_at) "
            f"SELECT d.product_id, d.old_price, d.new_price, %s, 'repricing decision ' || d.id, %s FROM {decision} d "
            f"WHERE {d_filter} AND d.old_price <> d.new_price",
            [ProductPriceChange.Source.REPRICER, now, *params],
        )
    return updated


def run_repricing(*, store=None, now=None):
    """One repricing run over every product with a rule (of one store, or all). Returns the run."""
    now = now or timezone.now()
    decision = RepricingDecision._meta.db_table
    with transaction.atomic():
        run = RepricingRun.objects.create()
        if connection.vendor == "postgresql":
            run.products_checked, run.suspicious_offers, suggested = _insert_decisions_in_sql(run, store=store, now=now)
        else:
            batch, suggested = [], 0
            for item in compute_decisions(run, store=store, now=now):
                batch.append(item)
                suggested += item[8] == RepricingDecision.Status.SUGGESTED
                if len(batch) >= BATCH:
                    _insert_decisions(batch)
                    batch = []
            _insert_decisions(batch)
        # Older suggestions for products this run decided again are out of date.
        RepricingDecision.objects.filter(status=RepricingDecision.Status.SUGGESTED).exclude(run=run).filter(
            product__in=RepricingDecision.objects.filter(run=run).values("product_id")
        ).update(status=RepricingDecision.Status.SUPERSEDED)
        changed = _write_prices(
            f"{decision}.run_id = %s AND {decision}.status = %s", [run.pk, RepricingDecision.Status.APPLIED], now
        )
        run.prices_changed, run.suggestions, run.finished_at = changed, suggested, timezone.now()
        run.save(
            update_fields=["products_checked", "suspicious_offers", "prices_changed", "suggestions", "finished_at"]
        )
    return run


def accept_suggestions(*, decision_ids, actor):
    """An Admin accepts suggestions in bulk: each still-open one sets its price (once, even if sent twice)."""
    decision = RepricingDecision._meta.db_table
    now = timezone.now()
    ids = sorted({int(pk) for pk in decision_ids})
    if not ids:
        raise RepricingRefused("nothing_selected", "Select at least one suggestion.")
    accepted = 0
    with transaction.atomic():
        for start in range(0, len(ids), BATCH):
            chunk = list(
                RepricingDecision.objects.select_for_update()
                .filter(pk__in=ids[start : start + BATCH], status=RepricingDecision.Status.SUGGESTED)
                .values_list("pk", flat=True)
            )
            if not chunk:
                continue
            RepricingDecision.objects.filter(pk__in=chunk).update(
                status=RepricingDecision.Status.ACCEPTED, accepted_by=actor
            )
            marks = ", ".join(["%s"] * len(chunk))
            accepted += _write_prices(
                f"{decision}.status = %s AND {decision}.id IN ({marks})",
                [RepricingDecision.Status.ACCEPTED, *chunk],
                now,
                actor,
            )
    return accepted
