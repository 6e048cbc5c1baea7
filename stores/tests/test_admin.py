"""The Store operations admin: listings with export, price monitoring, bulk acceptance, order status, token rotation."""

import itertools
from decimal import Decimal

import pytest
from django.urls import reverse

from backoffice.tests.factories import admin, moderator
from catalog.tests.factories import ProductFactory, StoreFactory
from stores import repricing
from stores.models import Order, RepricingDecision, RepricingRule
from stores.tests.factories import (
    CompetitorListingFactory,
    MarketplaceAccountFactory,
    ProductStockFactory,
    RepricingRuleFactory,
    SalesPointFactory,
)

pytestmark = pytest.mark.django_db
D = Decimal
MONITORING = "/admin/price-monitoring/"


@pytest.fixture
def admin_client(client):
    client.force_login(admin())
    return client


STORE_NUMBERS = itertools.count()


def suggested_products(count):
    n = next(STORE_NUMBERS)
    store = StoreFactory(name=f"Store {n}", slug=f"store-{n}")
    RepricingRuleFactory(store=store, product=None, mode=RepricingRule.Mode.SUGGEST, beat_by=D("1.00"))
    products = [ProductFactory(store=store, price=D("20.00")) for _ in range(count)]
    for product in products:
        CompetitorListingFactory(product=product, price=D("19.00"))
    repricing.run_repricing()
    return products


@pytest.mark.parametrize(
    "url",
    [
        "/admin/sales_points/",
        "/admin/stock/",
        "/admin/clients/",
        "/admin/orders/",
        "/admin/competitor_shops/",
        "/admin/competitor_listings/",
        "/admin/repricing_rules/",
        "/admin/repricing_decisions/",
        "/admin/marketplace_accounts/",
        "/admin/repricing_rules/new/",
    ],
)
def test_every_listing_opens_for_admins(admin_client, url):
    ProductStockFactory()
    assert admin_client.get(url).status_code == 200


def test_listings_export_as_csv(admin_client):
    SalesPointFactory(name="Almaty Central")
    response = admin_client.get("/admin/sales_points/?export=csv")
    assert response.status_code == 200
    assert "Almaty Central" in b"".join(response.streaming_content).decode()


def test_listings_search_by_name(admin_client):
    SalesPointFactory(name="Almaty Central")
    SalesPointFactory(name="Astana North")
    content = admin_client.get("/admin/sales_points/?q=astana").content.decode()
    assert "Astana North" in content and "Almaty Central" not in content


def test_monitoring_shows_our_price_the_lowest_competitor_and_our_rank(admin_client):
    product = ProductFactory(sku="KETTLE-1", price=D("20.00"))
    CompetitorListingFactory(product=product, price=D("18.50"))
    CompetitorListingFactory(product=product, price=D("19.50"))
    CompetitorListingFactory(product=product, price=D("25.00"))
    response = admin_client.get(MONITORING)
    row = response.context["rows"][0]
    assert (row.price, row.lowest_price, row.rank) == (D("20.00"), D("18.50"), 3)


def test_monitoring_filters_undercut_products(admin_client):
    undercut = ProductFactory(sku="CHEAPER")
    CompetitorListingFactory(product=undercut, price=D("18.00"))
    ProductFactory(sku="ALONE")
    rows = admin_client.get(MONITORING + "?show=undercut").context["rows"]
    assert [row.sku for row in rows] == ["CHEAPER"]


def test_monitoring_filters_stale_feeds(admin_client, settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.REPRICING_STALE_OFFER_HOURS = 24
    stale = ProductFactory(sku="STALE")
    CompetitorListingFactory(product=stale, seen_at=timezone.now() - timedelta(hours=30))
    fresh = ProductFactory(sku="FRESH")
    CompetitorListingFactory(product=fresh)
    rows = admin_client.get(MONITORING + "?show=stale").context["rows"]
    assert [row.sku for row in rows] == ["STALE"]


def test_monitoring_filters_products_at_their_floor(admin_client):
    product = ProductFactory(sku="FLOORED", price=D("10.00"))
    RepricingRuleFactory(store=product.store, product=product, floor=D("10.00"))
    ProductFactory(sku="ABOVE", store=product.store, price=D("20.00"))
    rows = admin_client.get(MONITORING + "?show=at_floor").context["rows"]
    assert [row.sku for row in rows] == ["FLOORED"]


def test_monitoring_runs_the_same_queries_for_5_or_50_products(admin_client, django_assert_max_num_queries):
    suggested_products(5)
    with django_assert_max_num_queries(12) as few:
        admin_client.get(MONITORING)
    suggested_products(45)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = admin_client.get(MONITORING)
    assert len(response.context["rows"]) == 50


def test_an_admin_accepts_ticked_suggestions_in_bulk(admin_client):
    first, second, third = suggested_products(3)
    ids = RepricingDecision.objects.filter(product__in=[first, second]).values_list("pk", flat=True)
    response = admin_client.post(MONITORING + "accept/", {"decision": list(ids)})
    assert response.status_code == 302
    prices = {p.pk: p.price for p in type(first).objects.all()}
    assert (prices[first.pk], prices[second.pk], prices[third.pk]) == (D("18.00"), D("18.00"), D("20.00"))


def test_an_admin_accepts_every_open_suggestion_of_a_store(admin_client):
    products = suggested_products(3)
    admin_client.post(MONITORING + "accept/", {"all": "1", "store": products[0].store_id})
    assert not RepricingDecision.objects.filter(status=RepricingDecision.Status.SUGGESTED).exists()


def test_other_staff_cannot_accept_suggestions(client):
    products = suggested_products(1)
    client.force_login(moderator())
    ids = list(RepricingDecision.objects.values_list("pk", flat=True))
    response = client.post(MONITORING + "accept/", {"decision": ids})
    assert response.status_code == 403  # the admin's one "not allowed" page
    products[0].refresh_from_db()
    assert products[0].price == D("20.00")


def test_an_admin_moves_an_order_through_the_service(admin_client):
    from stores import orders

    stock = ProductStockFactory(quantity=3)
    order = orders.create_order(
        store=stock.product.store, code="A-1", sales_point=stock.sales_point, items=[(stock.product, 2, "5")]
    )
    inspect = admin_client.get(f"/admin/orders/inspect/{order.pk}/")
    assert b"Accepted" in inspect.content
    admin_client.post(f"/admin/orders/{order.pk}/status/", {"status": "accepted"})
    response = admin_client.post(f"/admin/orders/{order.pk}/status/", {"status": "delivered"}, follow=True)
    order.refresh_from_db()
    assert order.status == Order.Status.ACCEPTED
    assert "cannot become delivered" in response.content.decode()


def test_an_orders_page_links_to_its_one_history_page_which_shows_who_changed_its_status(admin_client):
    from stores import orders

    stock = ProductStockFactory(quantity=3)
    order = orders.create_order(
        store=stock.product.store, code="H-1", sales_point=stock.sales_point, items=[(stock.product, 1, "5")]
    )
    admin_client.post(f"/admin/orders/{order.pk}/status/", {"status": "accepted"})
    history_url = reverse("stores_orders:history", args=[order.pk])
    inspect = admin_client.get(f"/admin/orders/inspect/{order.pk}/").content.decode()
    assert f'href="{history_url}"' in inspect
    assert "Status history" not in inspect  # no second history table of its own
    history = admin_client.get(history_url).content.decode()
    assert "<strong>status</strong>: new → accepted" in history


def test_rotating_the_token_retires_the_old_price_list_url(admin_client, client):
    account = MarketplaceAccountFactory()
    old_url = reverse("stores_public:price_list", args=[account.price_list_token])
    assert client.get(old_url).status_code == 200
    admin_client.post(f"/admin/marketplace_accounts/{account.pk}/rotate/")
    account.refresh_from_db()
    assert client.get(old_url).status_code == 404
    assert client.get(reverse("stores_public:price_list", args=[account.price_list_token])).status_code == 200


def test_a_stock_take_sets_the_quantity_through_the_service(admin_client):
    stock = ProductStockFactory(quantity=3)
    response = admin_client.post(f"/admin/stock/edit/{stock.pk}/", {"counted": "7"})
    assert response.status_code == 302
    stock.refresh_from_db()
    assert stock.quantity == 7
    assert stock.history.first().history_user is not None


def test_a_stock_take_below_what_is_reserved_is_refused(admin_client):
    from stores import orders

    stock = ProductStockFactory(quantity=3)
    orders.create_order(
        store=stock.product.store, code="R", sales_point=stock.sales_point, items=[(stock.product, 2, "1")]
    )
    response = admin_client.post(f"/admin/stock/edit/{stock.pk}/", {"counted": "1"})
    assert response.status_code == 200
    assert "reserved by open orders" in response.content.decode()
    stock.refresh_from_db()
    assert stock.quantity == 3


@pytest.mark.parametrize("counted", ["-1", "many"])
def test_a_stock_take_needs_a_whole_number_not_below_zero(admin_client, counted):
    stock = ProductStockFactory(quantity=3)
    assert admin_client.post(f"/admin/stock/edit/{stock.pk}/", {"counted": counted}).status_code == 200
    stock.refresh_from_db()
    assert stock.quantity == 3


def test_a_new_stock_row_is_counted_at_once(admin_client):
    point = SalesPointFactory()
    product = ProductFactory(store=point.store)
    response = admin_client.post("/admin/stock/new/", {"product": product.pk, "sales_point": point.pk, "counted": "4"})
    assert response.status_code == 302
    assert product.point_stocks.get().quantity == 4


def test_an_orders_edit_link_opens_its_inspect_page_with_no_form_to_change_it(admin_client):
    from stores import orders

    stock = ProductStockFactory(quantity=3)
    order = orders.create_order(
        store=stock.product.store, code="E-1", sales_point=stock.sales_point, items=[(stock.product, 1, "5")]
    )
    response = admin_client.get(reverse("stores_orders:edit", args=[order.pk]))
    assert response.status_code == 200
    assert response.resolver_match.func.view_class.__name__ == "OrderInspectView"
    assert 'name="code"' not in response.content.decode()  # no edit form: status moves through its own form
    assert admin_client.post(reverse("stores_orders:edit", args=[order.pk]), {"code": "CHANGED"}).status_code == 405
    order.refresh_from_db()
    assert order.code == "E-1"


def test_the_store_operations_menu_lists_its_pages_in_the_groups_order(admin_client):
    from stores.wagtail_hooks import StoreOperationsGroup

    items = StoreOperationsGroup().get_submenu_items()
    ordered = [item.label for item in sorted(items, key=lambda item: item.order)]
    assert ordered[:4] == ["Sales points", "Stock", "Clients", "Orders"]
    assert ordered[-1] == "Price monitoring"
