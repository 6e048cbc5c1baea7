"""The marketplace price list: XML at a secret URL, cached until a price or stock changes, streamed when large."""

from decimal import Decimal

import defusedxml.ElementTree as ET
import pytest
from django.urls import reverse

from catalog.tests.factories import ProductFactory
from stores import orders, repricing
from stores.tests.factories import (
    CompetitorListingFactory,
    MarketplaceAccountFactory,
    ProductStockFactory,
    RepricingRuleFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def account():
    return MarketplaceAccountFactory()


def fetch(client, account):
    response = client.get(reverse("stores_public:price_list", args=[account.price_list_token]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return ET.fromstring(body)


def offer(tree, sku):
    return next(o for o in tree.iter("offer") if o.get("sku") == sku)


def test_lists_each_offer_with_its_availability_per_sales_point(client, account):
    stock = ProductStockFactory(
        product__store=account.store, product__sku="K-1", product__name="Kettle & co", quantity=4
    )
    tree = fetch(client, account)
    kettle = offer(tree, "K-1")
    assert kettle.findtext("name") == "Kettle & co"
    assert kettle.findtext("price") == "19.99"
    availability = kettle.find("availabilities/availability")
    assert (availability.get("name"), availability.get("available"), availability.get("quantity")) == (
        stock.sales_point.name,
        "yes",
        "4",
    )


def test_reserved_stock_is_not_offered(client, account):
    stock = ProductStockFactory(product__store=account.store, product__sku="K-1", quantity=1)
    orders.create_order(store=account.store, code="O", sales_point=stock.sales_point, items=[(stock.product, 1, "1")])
    availability = offer(fetch(client, account), "K-1").find("availabilities/availability")
    assert (availability.get("available"), availability.get("quantity")) == ("no", "0")


def test_an_unknown_token_is_a_404(client, account):
    assert client.get(reverse("stores_public:price_list", args=["not-the-token"])).status_code == 404


def test_the_cached_list_is_regenerated_after_a_repricing(client, account):
    product = ProductFactory(store=account.store, sku="K-1", price=Decimal("20.00"))
    assert offer(fetch(client, account), "K-1").findtext("price") == "20.00"
    RepricingRuleFactory(store=account.store, product=product, beat_by=Decimal("1.00"))
    CompetitorListingFactory(product=product, price=Decimal("19.00"))
    repricing.run_repricing()
    assert offer(fetch(client, account), "K-1").findtext("price") == "18.00"


def test_a_second_request_is_served_from_the_cache(client, account, django_assert_max_num_queries):
    ProductStockFactory(product__store=account.store)
    fetch(client, account)
    with django_assert_max_num_queries(5):  # the account and the version key; no product rows
        fetch(client, account)


def test_large_stores_are_streamed(client, account, settings):
    settings.PRICE_LIST_CACHE_MAX_PRODUCTS = 2
    for _ in range(3):
        ProductFactory(store=account.store)
    response = client.get(reverse("stores_public:price_list", args=[account.price_list_token]))
    assert response.streaming
    assert len(ET.fromstring(b"".join(response.streaming_content)).findall("offers/offer")) == 3
