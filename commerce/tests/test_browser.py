"""A member buys an app in headless Chromium, on a desktop and a phone-sized screen."""

import pytest

from backoffice.testing.browser import chromium_page, screenshot
from backoffice.tests.factories import PASSWORD
from catalog.tests.factories import AppFactory
from commerce.models import Purchase
from commerce.tests.factories import PlanFactory, member_with

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(("width", "height"), [(1440, 900), (390, 844)])
def test_a_member_confirms_and_buys_an_app_then_sees_it_in_my_apps(live_server, width, height):
    member = member_with(100)
    app = AppFactory(name="Chess Coach", credit_price=30)
    PlanFactory(name="Gold", price=80)
    with chromium_page() as page:
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("input[name=username]", member.email)
        page.fill("input[name=password]", PASSWORD)
        page.click("main button[type=submit]")
        page.goto(f"{live_server.url}/")
        assert "Gold" in page.text_content("main")
        page.goto(f"{live_server.url}/apps/{app.slug}/")
        page.click("#buy-app")
        assert page.text_content("#balance-after").strip() == "70 points"
        screenshot(page, f"commerce-confirm-{width}")
        page.click("#confirm-purchase")
        page.wait_for_url(f"{live_server.url}/me/apps/")
        assert "Chess Coach" in page.text_content("table")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        screenshot(page, f"commerce-my-apps-{width}")
    member.refresh_from_db()
    assert (Purchase.objects.get().app, member.points_balance) == (app, 70)
