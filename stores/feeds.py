"""Marketplace feeds: orders (JSON) of each store, and the listings (CSV, JSON or XML) of each competitor shop.

Both are idempotent by the feed's external id: an order code already imported is not created again (its status
may move on, through stores.orders), a listing id updates its row in place; an id twice in one feed counts
once (the last row wins). Unknown SKUs and bad rows are counted in the summary and skipped, never fatal.
The fetch is one swappable function (`fetch`), so tests and the jobs share the same body.
"""

import csv
import io
import json
import logging
from decimal import Decimal, InvalidOperation

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from catalog.feeds import FeedInvalid, FeedUnavailable, fetch_feed
from catalog.models import Product

from . import orders
from .models import Client, CompetitorListing, FeedFormat, Order, SalesPoint

logger = logging.getLogger(__name__)

__all__ = ["FeedInvalid", "FeedUnavailable", "fetch", "import_competitor_shop", "import_store_orders"]

fetch = fetch_feed  # (url) -> bytes; raises FeedUnavailable (retry) or FeedInvalid (don't)
CHUNK = 1000
MAX_PRICE = Decimal("1e10")
UNKNOWN_SAMPLE = 20
TRUE_WORDS = {"1", "true", "yes", "y", "in_stock", "instock", "available"}
FALSE_WORDS = {"0", "false", "no", "n", "out_of_stock", "outofstock", "unavailable"}


def _text(body):
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FeedInvalid("The feed is not UTF-8 text") from exc


def _json_list(body, key):
    try:
        data = json.loads(_text(body))
    except json.JSONDecodeError as exc:
        raise FeedInvalid(f"The feed is not valid JSON: {exc}") from exc
    if isinstance(data, dict):
        data = data.get(key)
    if not isinstance(data, list):
        raise FeedInvalid(f'The JSON feed must be a list or {{"{key}": [...]}}')
    return [row for row in data if isinstance(row, dict)]


def parse_listings(body, feed_format):
    """Rows of {"external_id", "sku", "name", "price", "in_stock"}; FeedInvalid when the feed is unreadable."""
    if feed_format == FeedFormat.JSON:
        return _json_list(body, "listings")
    if feed_format == FeedFormat.XML:
        try:
            root = SafeET.fromstring(body)
        except (SafeET.ParseError, DefusedXmlException) as exc:
            raise FeedInvalid(f"The feed is not valid XML: {exc}") from exc
        return [
            {**element.attrib, **{child.tag: (child.text or "").strip() for child in element}}
            for element in root.iter("listing")
        ]
    reader = csv.DictReader(io.StringIO(_text(body), newline=""))
    fields = {(name or "").strip().lower() for name in reader.fieldnames or []}
    if not {"external_id", "price"} <= fields:
        raise FeedInvalid("The CSV feed needs 'external_id' and 'price' columns")
    return [{(key or "").strip().lower(): value for key, value in row.items()} for row in reader]


def _price(value):
    try:
        price = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not price.is_finite() or price < 0 or price >= MAX_PRICE:
        return None
    return price.quantize(Decimal("0.01"))


def _in_stock(value):
    if value is None or value == "":
        return True
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None  # unreadable: the row is invalid


def record_listings(*, shop, rows, now=None):
    """Upsert a competitor shop's listings by external id; match them to our products by SKU."""
    now = now or timezone.now()
    summary = {"rows": len(rows), "listings": 0, "matched": 0, "duplicates": 0, "invalid_rows": 0, "unknown_skus": 0}
    by_id = {}
    for row in rows:
        external_id = str(row.get("external_id") or row.get("id") or "").strip()[:64]
        price = _price(row.get("price"))
        in_stock = _in_stock(row.get("in_stock"))
        if not external_id or price is None or in_stock is None:
            summary["invalid_rows"] += 1
            continue
        if external_id in by_id:
            summary["duplicates"] += 1
        by_id[external_id] = (
            str(row.get("sku") or "").strip()[:64],
            str(row.get("name") or "").strip()[:200],
            price,
            in_stock,
        )
    skus = sorted({sku for sku, *_ in by_id.values() if sku})
    products = {}
    for start in range(0, len(skus), CHUNK):
        products.update(
            Product.objects.filter(store_id=shop.store_id, sku__in=skus[start : start + CHUNK]).values_list("sku", "pk")
        )
    unknown = sorted({sku for sku, *_ in by_id.values() if sku not in products})
    listings = [
        CompetitorListing(
            competitor_store=shop,
            external_id=external_id,
            sku=sku,
            name=name,
            product_id=products.get(sku),
            price=price,
            in_stock=in_stock,
            first_seen_at=now,
            seen_at=now,
        )
        for external_id, (sku, name, price, in_stock) in by_id.items()
    ]
    with transaction.atomic():
        CompetitorListing.objects.bulk_create(
            listings,
            batch_size=CHUNK,
            update_conflicts=True,
            unique_fields=["competitor_store", "external_id"],
            update_fields=["sku", "name", "product", "price", "in_stock", "seen_at"],
        )
        shop.last_import_at, shop.last_import_error = now, ""
        shop.save(update_fields=["last_import_at", "last_import_error"])
    summary.update(
        listings=len(listings),
        matched=sum(1 for listing in listings if listing.product_id),
        unknown_skus=len(unknown),
        unknown_sku_sample=unknown[:UNKNOWN_SAMPLE],
    )
    return summary


def import_competitor_shop(shop):
    """Fetch and record one competitor shop's feed; a failure is written on the shop and raised."""
    try:
        summary = record_listings(shop=shop, rows=parse_listings(fetch(shop.feed_url), shop.feed_format))
    except (FeedInvalid, FeedUnavailable) as exc:
        shop.last_import_error = str(exc)[:1000]
        shop.save(update_fields=["last_import_error"])
        raise
    logger.info("competitor shop %s: %s", shop, summary)
    return summary


# Orders


def _client(store, data):
    if not isinstance(data, dict) or not str(data.get("name") or "").strip():
        return None
    phone = str(data.get("phone") or "").strip()[:32]
    fields = {
        "name": str(data["name"]).strip()[:200],
        "email": str(data.get("email") or "").strip()[:254],
        "city": str(data.get("city") or "").strip()[:120],
    }
    if phone:
        client = Client.objects.filter(store=store, phone=phone).first()
        if client:
            return client
    return Client.objects.create(store=store, phone=phone, **fields)


def record_orders(*, account, rows):
    """Create the orders not seen before; move known ones to the feed's status when the move is allowed."""
    store = account.store
    summary = {
        "rows": len(rows),
        "created": 0,
        "status_changes": 0,
        "already_imported": 0,
        "duplicates": 0,
        "unknown_skus": 0,
        "refused": 0,
        "invalid_rows": 0,
    }
    by_code = {}
    for row in rows:
        code = str(row.get("code") or row.get("id") or "").strip()[:64]
        if not code:
            summary["invalid_rows"] += 1
            continue
        summary["duplicates"] += code in by_code
        by_code[code] = row
    points = {point.name: point for point in SalesPoint.objects.filter(store=store, active=True)}
    points.update({str(point.pk): point for point in list(points.values())})
    existing = {
        order.code: order
        for order in Order.objects.filter(store=store, code__in=list(by_code)).only("pk", "code", "status")
    }
    skus = {
        str(item.get("sku") or "")
        for row in by_code.values()
        for item in row.get("items") or []
        if isinstance(item, dict)
    }
    products = {p.sku: p for p in Product.objects.filter(store=store, sku__in=skus)}
    created = []
    for code, row in by_code.items():
        status = str(row.get("status") or Order.Status.NEW)
        if code in existing:
            order = existing[code]
            if status != order.status and status in orders.ALLOWED_TRANSITIONS[order.status]:
                orders.change_status(order=order, new_status=status)
                summary["status_changes"] += 1
            else:
                summary["already_imported"] += 1
            continue
        point = points.get(str(row.get("sales_point") or ""))
        raw_items = row.get("items")
        if point is None or not isinstance(raw_items, list) or not raw_items:
            summary["invalid_rows"] += 1
            continue
        items, unknown, bad = [], 0, False
        for item in raw_items:
            if not isinstance(item, dict):
                bad = True
                continue
            product = products.get(str(item.get("sku") or ""))
            price = _price(item.get("price"))
            try:
                quantity = int(item.get("quantity"))
            except (TypeError, ValueError):
                quantity = 0
            if product is None:
                unknown += 1
            elif price is None or quantity < 1:
                bad = True
            else:
                items.append((product, quantity, price))
        if unknown:
            summary["unknown_skus"] += unknown
            continue
        if bad:
            summary["invalid_rows"] += 1
            continue
        placed_at = parse_datetime(str(row.get("placed_at") or row.get("created_at") or "")) or None
        try:
            with transaction.atomic():
                order = orders.create_order(
                    store=store,
                    code=code,
                    sales_point=point,
                    items=items,
                    client=_client(store, row.get("client")),
                    placed_at=placed_at,
                )
        except orders.OrderRefused as refusal:
            summary["refused"] += 1
            logger.warning("order %s of %s refused: %s", code, store, refusal.code)
            continue
        created.append(order)
        if status != Order.Status.NEW and status in orders.ALLOWED_TRANSITIONS[Order.Status.NEW]:
            orders.change_status(order=order, new_status=status)
    summary["created"] = len(created)
    summary["created_orders"] = [order.pk for order in created]
    return summary


def parse_orders(body):
    return _json_list(body, "orders")


def import_store_orders(account):
    """Fetch and record one store's marketplace orders; a failure is written on the account and raised."""
    now = timezone.now()
    try:
        summary = record_orders(account=account, rows=parse_orders(fetch(account.orders_feed_url)))
    except (FeedInvalid, FeedUnavailable) as exc:
        account.last_orders_import_error = str(exc)[:1000]
        account.save(update_fields=["last_orders_import_error"])
        raise
    account.last_orders_import_at, account.last_orders_import_error = now, ""
    account.save(update_fields=["last_orders_import_at", "last_orders_import_error"])
    logger.info("orders of %s: %s", account.store, summary)
    return summary
