"""The home page with its landing content, photographed at 1440 and 390 px: no overflow, no axe violation."""

import pytest

from backoffice.testing.browser import check_screen, chromium_page
from commerce.tests.factories import PlanFactory
from landing import demo
from landing.models import Review

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_home_page_shows_reviews_faq_and_footer_cleanly_on_desktop_and_phone(live_server):
    demo.load(lambda message: None)
    Review.objects.create(name="A" * 80, text="W" * 400, rating=1, published=True)  # nothing breaks the layout
    PlanFactory(name="Plus", price=150)
    problems = []
    with chromium_page() as page:
        check_screen(page, live_server.url + "/", "landing-home", problems)
        page.click("summary:has-text('How are proofs judged?')")
        assert page.is_visible("text=A moderator looks at every screenshot")
        assert page.locator(".reviews .card").count() == 6  # LANDING_HOME_REVIEWS, the long one (newest) first
        assert page.locator(".reviews .card figcaption").first.inner_text() == "— " + "A" * 80
        assert page.is_visible("footer.site-footer a[href='/plans/']")
    assert problems == [], "\n".join(problems)
