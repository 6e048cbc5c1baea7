from decimal import Decimal

import pytest

from backoffice.testing.browser import chromium_page, log_in_to_admin, screenshot
from backoffice.tests.factories import PASSWORD, admin
from catalog.tests.factories import ProductFactory
from stores import alerts, repricing
from stores.models import RepricingRule
from stores.tests.factories import CompetitorListingFactory, RepricingRuleFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_accepts_a_suggestion_on_the_monitoring_page_and_sees_a_live_alert(live_server, settings):
    settings.ALERTS_STREAM_POLL_SECONDS = 0.5
    product = ProductFactory(sku="KETTLE-1", name="Kettle", price=Decimal("20.00"))
    RepricingRuleFactory(store=product.store, product=None, mode=RepricingRule.Mode.SUGGEST, beat_by=Decimal("1"))
    CompetitorListingFactory(product=product, price=Decimal("19.00"))
    repricing.run_repricing()
    user = admin()
    with chromium_page() as page:
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        log_in_to_admin(page, live_server.url, user.email, PASSWORD)
        for width in (1440, 390):
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(f"{live_server.url}/admin/price-monitoring/")
            assert page.locator("table[data-testid=monitoring] td", has_text="KETTLE-1").is_visible()
            screenshot(page, f"stores-price-monitoring-{width}")
        page.check("input[name=decision]")
        page.click("button:has-text('Accept the ticked suggestions')")
        page.get_by_text("1 price(s) changed.").wait_for()
        product.refresh_from_db()
        assert product.price == Decimal("18.00")

        alerts.notify(alerts.NEW_ORDER, "3 new order(s) for Main store", url="/admin/orders/")
        page.locator(".stores-live-alert", has_text="3 new order(s) for Main store").wait_for(timeout=30_000)
        screenshot(page, "stores-live-alert-390")
        assert errors == []
