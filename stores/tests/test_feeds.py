"""Marketplace feeds served from a local HTTP server: orders (JSON), competitor listings (CSV, JSON, XML)."""

import json
from decimal import Decimal

import pytest

from backoffice.testing.servers import ScriptedHTTPServer
from catalog.tests.factories import ProductFactory, StoreFactory
from stores import feeds, tasks
from stores.models import CompetitorListing, Order, ProductStock, UserAlert
from stores.tests.factories import (
    CompetitorStoreFactory,
    MarketplaceAccountFactory,
    ProductStockFactory,
    SalesPointFactory,
)

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def server():
    with ScriptedHTTPServer() as fake:
        yield fake


@pytest.fixture
def store():
    return StoreFactory()


@pytest.fixture
def shop(store, server):
    ProductFactory(store=store, sku="KETTLE")
    ProductFactory(store=store, sku="TOASTER")
    return CompetitorStoreFactory(store=store, feed_url=server.url("/listings"), feed_format="csv")


CSV = "external_id,sku,name,price,in_stock\nc-1,KETTLE,Kettle,18.50,yes\nc-2,TOASTER,Toaster,30,no\n"


def import_shop(shop):
    return tasks.import_competitor_shop_feed.apply(args=[shop.pk], throw=True).get()


def test_a_csv_feed_records_each_listing_matched_to_our_product(server, shop):
    server.respond("/listings", body=CSV, content_type="text/csv")
    summary = import_shop(shop)
    kettle = CompetitorListing.objects.get(external_id="c-1")
    assert (kettle.product.sku, kettle.price, kettle.in_stock) == ("KETTLE", D("18.50"), True)
    assert CompetitorListing.objects.get(external_id="c-2").in_stock is False
    assert (summary["listings"], summary["matched"], summary["unknown_skus"]) == (2, 2, 0)


@pytest.mark.parametrize(
    "feed_format, body",
    [
        (
            "json",
            json.dumps({"listings": [{"external_id": "j-1", "sku": "KETTLE", "price": "17.9", "in_stock": True}]}),
        ),
        (
            "xml",
            '<?xml version="1.0"?><listings><listing external_id="j-1" sku="KETTLE">'
            "<price>17.90</price><in_stock>true</in_stock></listing></listings>",
        ),
    ],
)
def test_json_and_xml_feeds_read_the_same(server, shop, feed_format, body):
    shop.feed_format = feed_format
    shop.save()
    server.respond("/listings", body=body)
    import_shop(shop)
    assert CompetitorListing.objects.get(external_id="j-1").price == D("17.90")


def test_unknown_skus_are_kept_in_the_full_list_counted_and_not_fatal(server, shop):
    server.respond("/listings", body=CSV + "c-3,NOT-OURS,Blender,99,yes\n")
    summary = import_shop(shop)
    assert summary["unknown_skus"] == 1 and summary["unknown_sku_sample"] == ["NOT-OURS"]
    assert CompetitorListing.objects.get(external_id="c-3").product is None
    assert CompetitorListing.objects.filter(product__isnull=False).count() == 2


def test_duplicate_ids_in_one_feed_and_across_runs_are_written_once(server, shop):
    server.respond("/listings", body=CSV + "c-1,KETTLE,Kettle,17.00,yes\n")
    first = import_shop(shop)
    import_shop(shop)
    assert first["duplicates"] == 1
    assert CompetitorListing.objects.filter(external_id="c-1").count() == 1
    assert CompetitorListing.objects.get(external_id="c-1").price == D("17.00")  # the last row wins


def test_bad_rows_are_counted_and_skipped(server, shop):
    server.respond(
        "/listings", body=CSV + "c-4,KETTLE,x,-5,yes\nc-5,KETTLE,x,abc,yes\n,KETTLE,x,1,yes\nc-6,KETTLE,x,1,maybe\n"
    )
    assert import_shop(shop)["invalid_rows"] == 4
    assert CompetitorListing.objects.count() == 2


def test_an_offer_of_zero_is_recorded_for_the_repricer_to_flag(server, shop):
    server.respond("/listings", body="external_id,sku,price\nz-1,KETTLE,0\n")
    import_shop(shop)
    assert CompetitorListing.objects.get(external_id="z-1").price == D("0.00")


def test_an_unreadable_feed_fails_at_once_is_written_on_the_shop_and_alerts_staff(server, shop, django_user_model):
    from backoffice.tests.factories import admin

    admin()
    server.respond("/listings", body="<html>not a feed", content_type="text/html")
    with pytest.raises(feeds.FeedInvalid):
        import_shop(shop)
    shop.refresh_from_db()
    assert "external_id" in shop.last_import_error
    assert len(server.requests_to("/listings")) == 1
    assert UserAlert.objects.filter(kind="feed_failing").exists()


def test_a_server_error_is_retried_then_imported(server, shop, retries_run_inline):
    server.respond("/listings", status=503, times=2).respond("/listings", body=CSV)
    tasks.import_competitor_shop_feed.delay(shop.pk)
    assert len(server.requests_to("/listings")) == 3
    assert CompetitorListing.objects.count() == 2


@pytest.fixture
def retries_run_inline(settings):
    """Eager Celery re-runs a retried task at once, but only when it does not propagate the Retry."""
    from backoffice.celery import app

    previous = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = previous


# Orders


@pytest.fixture
def account(store, server):
    return MarketplaceAccountFactory(store=store, orders_feed_url=server.url("/orders.json"))


@pytest.fixture
def stocked(store):
    point = SalesPointFactory(store=store, name="Central")
    stock = ProductStockFactory(product__store=store, product__sku="KETTLE", sales_point=point, quantity=5)
    return point, stock


def order_row(code, quantity=1, sku="KETTLE", **extra):
    return {
        "code": code,
        "sales_point": "Central",
        "client": {"name": "Aigerim", "phone": "+77001234567", "city": "Almaty"},
        "items": [{"sku": sku, "quantity": quantity, "price": "19.99"}],
        **extra,
    }


def import_orders(account):
    return tasks.import_store_orders_feed.apply(args=[account.pk], throw=True).get()


def test_orders_are_imported_with_their_client_and_reserve_stock(server, account, stocked):
    server.respond("/orders.json", body=json.dumps({"orders": [order_row("M-1", 2)]}))
    summary = import_orders(account)
    order = Order.objects.get(code="M-1")
    assert (order.client.name, order.total, summary["created"]) == ("Aigerim", D("39.98"), 1)
    assert ProductStock.objects.get(pk=stocked[1].pk).reserved == 2


def test_order_codes_seen_before_or_twice_in_a_feed_are_created_once(server, account, stocked):
    server.respond("/orders.json", body=json.dumps([order_row("M-1"), order_row("M-1")]))
    first = import_orders(account)
    second = import_orders(account)
    assert (first["duplicates"], second["already_imported"], Order.objects.count()) == (1, 1, 1)
    assert ProductStock.objects.get(pk=stocked[1].pk).reserved == 1


def test_a_known_order_follows_the_feeds_status_through_the_service(server, account, stocked):
    server.respond("/orders.json", body=json.dumps([order_row("M-1", 2)]), times=1)
    server.respond("/orders.json", body=json.dumps([order_row("M-1", 2, status="cancelled")]))
    import_orders(account)
    assert import_orders(account)["status_changes"] == 1
    assert Order.objects.get(code="M-1").status == Order.Status.CANCELLED
    assert ProductStock.objects.get(pk=stocked[1].pk).reserved == 0


def test_orders_with_unknown_skus_are_counted_and_skipped(server, account, stocked):
    server.respond("/orders.json", body=json.dumps([order_row("M-1", sku="NOPE"), order_row("M-2")]))
    summary = import_orders(account)
    assert (summary["unknown_skus"], summary["created"]) == (1, 1)
    assert list(Order.objects.values_list("code", flat=True)) == ["M-2"]


def test_an_order_for_more_than_the_point_has_is_refused_not_fatal(server, account, stocked):
    server.respond("/orders.json", body=json.dumps([order_row("M-1", 9), order_row("M-2", 1)]))
    summary = import_orders(account)
    assert (summary["refused"], summary["created"]) == (1, 1)
    assert ProductStock.objects.get(pk=stocked[1].pk).reserved == 1


def test_new_orders_alert_staff(server, account, stocked):
    from backoffice.tests.factories import admin

    staff = admin()
    server.respond("/orders.json", body=json.dumps([order_row("M-1")]))
    import_orders(account)
    assert UserAlert.objects.get(user=staff, kind="new_order").subject.startswith("1 new order")


def test_a_stale_competitor_feed_alerts_staff_before_the_next_import(server, shop, settings):
    from datetime import timedelta

    from django.utils import timezone

    from backoffice.tests.factories import admin

    admin()
    settings.REPRICING_STALE_OFFER_HOURS = 24
    shop.last_import_at = timezone.now() - timedelta(hours=30)
    shop.save()
    server.respond("/listings", body=CSV)
    tasks.import_competitor_listings.apply(throw=True)
    alert = UserAlert.objects.get(kind="feed_failing")
    assert alert.subject == "1 competitor feed(s) stale"


def test_a_failing_repricing_run_alerts_staff(monkeypatch):
    from backoffice.tests.factories import admin

    admin()

    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr("stores.repricing.run_repricing", broken)
    with pytest.raises(RuntimeError):
        tasks.run_repricing.apply(throw=True)
    alert = UserAlert.objects.get(kind="job_failed")
    assert alert.subject == "Job stores.tasks.run_repricing failed"
    assert "database went away" in alert.body
