"""A large product upload in the browser: the progress bar shows, survives a reload, and gives way to the result
by itself when the background job is done; at desktop and phone widths, with no horizontal overflow."""

import pytest
from django.urls import reverse

from backoffice.celery import app
from backoffice.roles import ADMINS
from backoffice.testing.browser import check_screen, chromium_page, log_in_to_admin, screenshot, upload_product_file
from backoffice.tests.factories import PASSWORD, StaffFactory
from catalog import services
from catalog.models import Product, ProductUpload
from catalog.tests.factories import StoreFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG_NAME = "supplier-price-list-with-a-very-long-file-name-that-no-phone-screen-can-fit-2026-11-22.csv"


@pytest.fixture
def worker(monkeypatch):
    """Upload jobs are queued but wait, as behind a busy worker, until the test plays the worker: run(name)."""
    app.loader.import_default_modules()
    queued = []
    for name in (services.CHECK_TASK, services.IMPORT_TASK):
        monkeypatch.setattr(app.tasks[name], "apply_async", lambda *a, _name=name, **k: queued.append((_name, k)))

    def run(name):
        (options,) = [options for queued_name, options in queued if queued_name == name]
        queued.clear()
        app.tasks[name].apply(args=options["args"], task_id=options["task_id"])

    return run


def assert_fits(page, name):
    """At 1440 and 390 px: screenshot, and nothing wider than the window."""
    problems = []
    for width, height in [(1440, 900), (390, 844)]:
        page.set_viewport_size({"width": width, "height": height})
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        screenshot(page, f"{name}-{width}")
        if overflow > 0:
            problems.append(f"{name} at {width}px: {overflow}px horizontal overflow")
    return problems


def test_a_large_upload_shows_its_progress_across_reloads_then_its_result(live_server, tmp_path, settings, worker):
    settings.PRODUCT_UPLOAD_INLINE_MAX_BYTES = 100  # this test's file is "large"
    admin = StaffFactory(role=ADMINS)
    StoreFactory(slug="main-store")
    csv_path = tmp_path / LONG_NAME
    rows = "".join(f"main-store,S{n},Item {n},{n}.00,1\n" for n in range(1, 31))
    csv_path.write_text("store,sku,name,price,stock\n" + rows)
    problems = []

    with chromium_page() as page:
        log_in_to_admin(page, live_server.url, admin.email, PASSWORD)
        upload_product_file(page, live_server.url, csv_path)

        page.wait_for_selector("[data-upload-progress] progress")
        assert "Waiting for a background worker" in page.inner_text("[data-upload-progress]")
        problems += assert_fits(page, "catalog-upload-progress")
        page.reload()
        page.wait_for_selector("[data-upload-progress] progress")  # the bar survives a reload
        assert page.get_attribute("[data-upload-status]", "data-upload-status") == "checking"

        worker(services.CHECK_TASK)
        page.wait_for_selector("[data-upload-preview]")  # the poller saw the job finish and reloaded
        assert page.query_selector("[data-upload-progress]") is None
        page.reload()
        assert page.inner_text("[data-count=created]") == "30"
        problems += assert_fits(page, "catalog-upload-background-preview")

        page.click("[data-upload-confirm]")
        page.wait_for_selector("[data-upload-progress] progress")
        assert page.get_attribute("[data-upload-status]", "data-upload-status") == "importing"
        assert Product.objects.count() == 0
        worker(services.IMPORT_TASK)
        page.wait_for_selector("[data-upload-result]")
        page.reload()
        assert "Imported: 30 products created, 0 updated." in page.inner_text("[data-upload-result]")
        problems += assert_fits(page, "catalog-upload-background-imported")

        # Wagtail's own listing at phone width: long values wrap between words only, and a listing wider than the
        # screen scrolls sideways in its box (static/css/admin.css) instead of losing its last columns.
        listing_url = f"{live_server.url}{reverse('product_uploads:index')}"
        check_screen(page, listing_url, "catalog-upload-listing", problems, axe=False)  # ends at 390 px
        title_cell = page.locator("table.listing tbody td.title").first
        assert LONG_NAME[:20] in title_cell.inner_text()
        assert title_cell.evaluate("(cell) => getComputedStyle(cell).wordBreak") == "normal"
        last_column_reachable = page.evaluate(
            """() => {
                const box = document.querySelector("#listing-results");
                box.scrollLeft = box.scrollWidth;
                const last = [...document.querySelectorAll("table.listing thead th")].pop();
                return last.getBoundingClientRect().right <= window.innerWidth + 1;
            }"""
        )
        assert last_column_reachable

    assert problems == []
    assert Product.objects.count() == 30
    assert ProductUpload.objects.get().status == ProductUpload.Status.IMPORTED
