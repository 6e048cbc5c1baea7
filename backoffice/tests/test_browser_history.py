"""The one object history page in a browser: Wagtail's log and the field changes, at desktop and phone widths."""

from decimal import Decimal

import pytest

from backoffice.roles import ADMINS
from backoffice.testing.browser import check_screen, chromium_page, log_in_to_admin
from backoffice.tests.factories import PASSWORD, StaffFactory
from catalog import services
from catalog.tests.factories import ProductFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_products_history_page_shows_field_and_price_changes(live_server):
    admin = StaffFactory(role=ADMINS)
    product = ProductFactory(name="Apple", price="5.00")
    product.price = Decimal("6.00")
    services.save_product(product=product, user=admin)
    problems = []

    with chromium_page() as page:
        log_in_to_admin(page, live_server.url, admin.email, PASSWORD)
        check_screen(page, f"{live_server.url}/admin/products/history/{product.pk}/", "object-history", problems)
        body = page.inner_text("main")

    assert problems == []
    assert "Field changes" in body and "5.00 → 6.00" in body
    assert "Price changes" in body
