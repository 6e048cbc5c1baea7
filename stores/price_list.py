"""The store's XML price list, pulled by the marketplace from a secret URL.

    <price_list store="main-store" generated_at="2026-11-22T12:00:00+00:00">
      <offers>
        <offer sku="SKU-1">
          <name>Kettle</name>
          <price>19.99</price>
          <availabilities>
            <availability sales_point="3" name="Almaty Central" available="yes" quantity="4"/>
          </availabilities>
        </offer>
      </offers>
    </price_list>

A store's list is cached whole under a key that carries its last price, product or stock change, so any change
gives a new list at once; stores above PRICE_LIST_CACHE_MAX_PRODUCTS are streamed instead, in chunks.
"""

from xml.sax.saxutils import escape, quoteattr

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from .models import SalesPoint
from .selectors import price_list_rows, price_list_version


def price_list_chunks(store, now=None):
    """The XML as a stream of byte chunks (one per product), holding only one chunk of products in memory."""
    points = dict(SalesPoint.objects.filter(store=store, active=True).values_list("pk", "name"))
    generated = (now or timezone.now()).isoformat()
    yield (
        f'<?xml version="1.0" encoding="utf-8"?>\n<price_list store={quoteattr(store.slug)} '
        f"generated_at={quoteattr(generated)}>\n<offers>\n"
    ).encode()
    for product, stocks in price_list_rows(store):
        parts = [
            f"<offer sku={quoteattr(product.sku)}><name>{escape(product.name)}</name>"
            f"<price>{product.price}</price><availabilities>"
        ]
        for point_id, available in stocks:
            if point_id in points:
                parts.append(
                    f'<availability sales_point="{point_id}" name={quoteattr(points[point_id])} '
                    f'available="{"yes" if available > 0 else "no"}" quantity="{max(available, 0)}"/>'
                )
        parts.append("</availabilities></offer>\n")
        yield "".join(parts).encode()
    yield b"</offers>\n</price_list>\n"


def cache_key(store):
    return f"stores:price_list:{store.pk}:{price_list_version(store)}"


def cached_price_list(store):
    """(bytes, None) from the cache or freshly built for a small store; (None, chunk iterator) for a large one."""
    if store.products.filter(active=True).count() > settings.PRICE_LIST_CACHE_MAX_PRODUCTS:
        return None, price_list_chunks(store)
    key = cache_key(store)
    body = cache.get(key)
    if body is None:
        body = b"".join(price_list_chunks(store))
        cache.set(key, body, settings.PRICE_LIST_CACHE_SECONDS)
    return body, None
