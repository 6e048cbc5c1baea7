import json
from decimal import Decimal

import pytest

from backoffice.models import TaskRun
from backoffice.testing.servers import ScriptedHTTPServer
from catalog import feeds, tasks
from catalog.models import Competitor, CompetitorOffer, Product, ProductPriceChange
from catalog.tests.factories import ProductFactory, StoreFactory

pytestmark = pytest.mark.django_db


FEED = "/feed"


def feed_server(body=b"", failures=0, failure_status=503, content_type="text/csv"):
    """A feed on 127.0.0.1: answers `failures` times with `failure_status`, then serves `body`."""
    server = ScriptedHTTPServer().respond(FEED, status=failure_status, times=failures)
    return server.respond(FEED, body=body, content_type=content_type)


@pytest.fixture
def products():
    store = StoreFactory(slug="main-store")
    return ProductFactory(store=store, sku="A1", price="10.00"), ProductFactory(store=store, sku="B2", price="20.00")


def competitor(url, feed_format="csv"):
    return Competitor.objects.create(name="Rival", feed_url=url, feed_format=feed_format)


def run(rival):
    return tasks.import_competitor_price_feed.apply(args=[rival.pk], throw=True).get()


@pytest.fixture
def retries_run_inline():
    """Eager Celery re-runs a retried task at once, but only when it does not propagate the Retry."""
    from backoffice.celery import app

    previous = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = previous


def run_with_retries(rival):
    return tasks.import_competitor_price_feed.apply(args=[rival.pk])


def test_csv_feed_records_an_offer_per_known_product(products):
    with feed_server(b"sku,price\nA1,9.50\nB2,21.00\nZZ,1.00\n") as server:
        summary = run(competitor(server.url(FEED)))

    assert summary == {"rows": 3, "new_prices": 2, "unchanged_prices": 0, "unknown_skus": 1, "invalid_rows": 0}
    assert set(CompetitorOffer.objects.values_list("product__sku", "price")) == {
        ("A1", Decimal("9.50")),
        ("B2", Decimal("21.00")),
    }


def test_json_feed_is_read_like_csv(products):
    body = json.dumps({"offers": [{"sku": "A1", "price": "8.00", "store": "main-store"}]}).encode()
    with feed_server(body, content_type="application/json") as server:
        run(competitor(server.url(FEED), "json"))

    assert CompetitorOffer.objects.get().price == Decimal("8.00")


def test_feed_never_changes_our_price(products):
    with feed_server(b"sku,price\nA1,1.00\n") as server:
        run(competitor(server.url(FEED)))

    assert Product.objects.get(sku="A1").price == Decimal("10.00")
    assert ProductPriceChange.objects.count() == 0


def test_unchanged_competitor_price_refreshes_seen_at_instead_of_adding_a_row(products):
    with feed_server(b"sku,price\nA1,9.50\n") as server:
        rival = competitor(server.url(FEED))
        run(rival)
        first_seen = CompetitorOffer.objects.get().seen_at
        summary = run(rival)

    offer = CompetitorOffer.objects.get()
    assert summary["unchanged_prices"] == 1
    assert offer.seen_at > first_seen


def test_changed_competitor_price_adds_to_their_price_history(products):
    with feed_server(b"sku,price\nA1,9.50\n") as server:
        rival = competitor(server.url(FEED))
        run(rival)
        server.respond(FEED, body=b"sku,price\nA1,9.00\n", content_type="text/csv", replace=True)
        run(rival)

    assert list(CompetitorOffer.objects.order_by("seen_at").values_list("price", flat=True)) == [
        Decimal("9.50"),
        Decimal("9.00"),
    ]


def test_bad_rows_are_skipped_and_counted(products):
    with feed_server(b"sku,price\nA1,-1\nB2,cheap\n,3.00\nA1,9.99\n") as server:
        summary = run(competitor(server.url(FEED)))

    assert summary["invalid_rows"] == 3
    assert CompetitorOffer.objects.get().price == Decimal("9.99")


def test_server_errors_are_retried_until_the_feed_answers(products, retries_run_inline):
    with feed_server(b"sku,price\nA1,9.50\n", failures=2) as server:
        result = run_with_retries(competitor(server.url(FEED)))

    assert len(server.requests) == 3
    assert result.get()["new_prices"] == 1


def test_retries_use_exponential_back_off_and_an_unusable_feed_is_not_retried():
    job = tasks.import_competitor_price_feed.run.recorded_job

    assert (job.max_retries, job.backoff_seconds) == (5, 30)
    assert feeds.FeedInvalid in job.permanent


def test_each_attempt_at_a_feed_is_recorded(products, retries_run_inline):
    with feed_server(b"sku,price\nA1,9.50\n", failures=1) as server:
        run_with_retries(competitor(server.url(FEED)))

    runs = TaskRun.objects.filter(task_name="catalog.tasks.import_competitor_price_feed").order_by("attempt")
    assert list(runs.values_list("attempt", "status", "rows")) == [(1, "retrying", 0), (2, "succeeded", 1)]


def test_feed_that_stays_down_fails_after_the_last_retry(products, retries_run_inline):
    with feed_server(failures=100) as server:
        result = run_with_retries(competitor(server.url(FEED)))

    assert result.failed()
    assert isinstance(result.result, feeds.FeedUnavailable)
    assert len(server.requests) == 6
    assert CompetitorOffer.objects.count() == 0


def test_unreachable_host_is_a_retryable_network_error():
    with pytest.raises(feeds.FeedUnavailable):
        feeds.fetch_feed("http://127.0.0.1:9/feed", timeout=2)


def test_not_found_is_not_retried(products):
    with feed_server(failures=100, failure_status=404) as server, pytest.raises(feeds.FeedInvalid):
        run(competitor(server.url(FEED)))

    assert len(server.requests) == 1


def test_csv_feed_without_price_column_is_refused(products):
    with feed_server(b"sku,cost\nA1,9.50\n") as server, pytest.raises(feeds.FeedInvalid, match="'sku' and 'price'"):
        run(competitor(server.url(FEED)))


def test_malformed_json_feed_is_refused(products):
    with feed_server(b"{not json") as server, pytest.raises(feeds.FeedInvalid, match="not valid JSON"):
        run(competitor(server.url(FEED), "json"))


def test_scheduled_task_runs_every_active_competitor_even_if_one_fails(products):
    with feed_server(b"sku,price\nA1,9.50\n") as good, feed_server(failures=100, failure_status=404) as bad:
        Competitor.objects.create(name="Broken", feed_url=bad.url(FEED))
        Competitor.objects.create(name="Asleep", feed_url=good.url(FEED), active=False)
        competitor(good.url(FEED))

        tasks.import_competitor_prices.apply(throw=True)

    assert list(CompetitorOffer.objects.values_list("competitor__name", flat=True)) == ["Rival"]


def test_a_feed_at_a_private_address_is_refused_without_retrying(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    with feed_server(b"sku,price\nA1,9.50\n") as server, pytest.raises(feeds.FeedInvalid, match="not allowed"):
        feeds.fetch_feed(server.url(FEED))
    assert len(server.requests) == 0


def test_an_unreachable_feed_names_no_connection_detail():
    with pytest.raises(feeds.FeedUnavailable) as failure:
        feeds.fetch_feed("http://127.0.0.1:9/feed", timeout=2)
    assert str(failure.value) == "The address could not be reached."
