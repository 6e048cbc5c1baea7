"""Competitor price feeds: fetch a competitor's CSV or JSON feed and record what they charge for our products.

Decision: a competitor's price never changes OUR price. It is an observation for staff to act on (through an
upload or an edit, which record ProductPriceChange). CompetitorOffer rows are the competitor's price history:
a new row only when their price for a product changes; an unchanged price only refreshes `seen_at`.

Feed rows: `sku`, `price`, and optionally `store` (a store slug; without it the SKU matches in every store).
CSV has those as header columns; JSON is a list of objects, or {"offers": [...]}.
"""

import csv
import io
import json
import logging
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from backoffice import outbound

from .models import Competitor, CompetitorOffer, Product

logger = logging.getLogger(__name__)

FEED_TIMEOUT_SECONDS = 20
MAX_FEED_BYTES = 20 * 1024 * 1024
SKU_CHUNK = 500


class FeedUnavailable(Exception):
    """A network failure or a server error: worth retrying later."""


class FeedInvalid(Exception):
    """The feed answered but is unusable (4xx, wrong format, too large): retrying will not help."""


def fetch_feed(url, timeout=FEED_TIMEOUT_SECONDS):
    """The feed's body, through the one outbound helper (no private addresses, size and time limits)."""
    try:
        return outbound.fetch(
            url, timeout=timeout, max_bytes=MAX_FEED_BYTES, headers={"User-Agent": f"{outbound.USER_AGENT} price-feed"}
        ).body
    except outbound.OutboundRetryable as exc:
        raise FeedUnavailable(str(exc)) from exc
    except outbound.OutboundRefused as exc:
        raise FeedInvalid(str(exc)) from exc


def parse_feed(body, feed_format):
    """Rows of {"sku", "price", "store"} from the feed; raises FeedInvalid when the whole feed is unreadable."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FeedInvalid("The feed is not UTF-8 text") from exc
    if feed_format == Competitor.FeedFormat.JSON:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FeedInvalid(f"The feed is not valid JSON: {exc}") from exc
        if isinstance(data, dict):
            data = data.get("offers")
        if not isinstance(data, list):
            raise FeedInvalid('The JSON feed must be a list of offers or {"offers": [...]}')
        return [row for row in data if isinstance(row, dict)]
    reader = csv.DictReader(io.StringIO(text, newline=""))
    fields = {(name or "").strip().lower() for name in reader.fieldnames or []}
    if not {"sku", "price"} <= fields:
        raise FeedInvalid("The CSV feed needs 'sku' and 'price' columns")
    return [{(key or "").strip().lower(): value for key, value in row.items()} for row in reader]


def record_competitor_offers(*, competitor, rows, seen_at=None):
    """Record one feed's offers; bad rows and unknown SKUs are counted and skipped, not fatal."""
    seen_at = seen_at or timezone.now()
    summary = {"rows": len(rows), "new_prices": 0, "unchanged_prices": 0, "unknown_skus": 0, "invalid_rows": 0}
    prices = {}
    for row in rows:
        sku = str(row.get("sku") or "").strip()
        store = str(row.get("store") or "").strip()
        try:
            price = Decimal(str(row.get("price")).strip())
        except (InvalidOperation, ValueError):
            price = None
        if not sku or price is None or not price.is_finite() or price < 0 or price >= Decimal("1e10"):
            summary["invalid_rows"] += 1
            continue
        prices[(store, sku)] = price.quantize(Decimal("0.01"))
    skus = sorted({sku for _store, sku in prices})
    latest = CompetitorOffer.objects.filter(competitor=competitor, product=OuterRef("pk")).order_by("-seen_at", "-pk")
    matched = set()
    new_offers, confirmed_ids = [], []
    with transaction.atomic():
        for start in range(0, len(skus), SKU_CHUNK):
            products = (
                Product.objects.filter(sku__in=skus[start : start + SKU_CHUNK])
                .select_related("store")
                .annotate(
                    last_offer_id=Subquery(latest.values("pk")[:1]), last_price=Subquery(latest.values("price")[:1])
                )
            )
            for product in products:
                price = prices.get((product.store.slug, product.sku), prices.get(("", product.sku)))
                if price is None:
                    continue
                matched.add((product.store.slug, product.sku))
                matched.add(("", product.sku))
                if product.last_price == price:
                    confirmed_ids.append(product.last_offer_id)
                else:
                    new_offers.append(
                        CompetitorOffer(competitor=competitor, product=product, price=price, seen_at=seen_at)
                    )
        CompetitorOffer.objects.bulk_create(new_offers, batch_size=1000)
        for start in range(0, len(confirmed_ids), SKU_CHUNK):
            CompetitorOffer.objects.filter(pk__in=confirmed_ids[start : start + SKU_CHUNK]).update(seen_at=seen_at)
    summary["new_prices"] = len(new_offers)
    summary["unchanged_prices"] = len(confirmed_ids)
    summary["unknown_skus"] = sum(1 for key in prices if key not in matched)
    return summary


def import_competitor_feed(competitor):
    body = fetch_feed(competitor.feed_url)
    summary = record_competitor_offers(competitor=competitor, rows=parse_feed(body, competitor.feed_format))
    logger.info("competitor feed %s: %s", competitor.name, summary)
    return summary
