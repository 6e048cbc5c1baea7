import datetime

import pytest
from django.utils import timezone

from backoffice.testing.browser import chromium_page, log_in_to_admin, screenshot
from backoffice.tests.factories import PASSWORD, marketer
from reporting import services
from reporting.tests.factories import generate_activity

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_marketer_opens_the_business_reports_and_sees_the_charts(live_server):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    generate_activity(yesterday, scale=1)
    generate_activity(timezone.localdate(), scale=1)
    services.rollup_day(day=yesterday)
    user = marketer()
    with chromium_page() as page:
        log_in_to_admin(page, live_server.url, user.email, PASSWORD)
        assert page.locator("text=Business figures, last 7 days").is_visible()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.click("text=Business reports")
        # Charts render one after another: wait for every one, then count them (six since app purchases).
        page.wait_for_function(
            "() => document.querySelectorAll('canvas').length > 0 && document.querySelectorAll('canvas').length"
            " === document.querySelectorAll('canvas[data-rendered=true]').length"
        )
        assert page.locator("canvas[data-rendered=true]").count() == 6
        assert page.evaluate("typeof Chart") == "function"
        assert errors == []
        page.fill("input[name=start]", "2026-03-10")
        page.fill("input[name=end]", "2026-03-01")
        page.click("button:has-text('Show')")
        page.get_by_text("is before the start date").wait_for()
        page.go_back()
        page.wait_for_selector("canvas[data-rendered=true]")
        screenshot(page, "reporting-business-reports")
