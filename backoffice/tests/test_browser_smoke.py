import pytest

from backoffice.roles import ADMINS, MARKETERS, MODERATORS
from backoffice.testing.browser import chromium_page, log_in_to_admin, screenshot
from backoffice.tests.factories import PASSWORD, StaffFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# What each role must and must not find in the Wagtail admin's main menu.
NEVER = {"Pages", "Reports", "Images", "Documents"}  # Wagtail's page tools: this back-office has no pages
MENUS = {
    MODERATORS: ({"Moderation"}, {"Campaigns", "Catalog", "Business reports", "Schedules", "Deliveries", *NEVER}),
    MARKETERS: ({"Campaigns", "Business reports"}, {"Moderation", "Catalog", "Schedules", "Deliveries", *NEVER}),
    ADMINS: ({"Catalog", "Moderation", "Business reports", "Schedules", "Deliveries"}, NEVER),
}


def sidebar_labels(page):
    page.wait_for_selector("[data-side-panel-toggle], .sidebar-main-menu, nav[aria-label]")
    return set(page.locator(".sidebar-main-menu .menuitem-label").all_inner_texts())


@pytest.mark.parametrize("role", list(MENUS))
def test_each_role_logs_into_the_admin_and_sees_only_its_menu(live_server, role):
    user = StaffFactory(role=role)
    expected, forbidden = MENUS[role]
    with chromium_page() as page:
        log_in_to_admin(page, live_server.url, user.email, PASSWORD)
        labels = sidebar_labels(page)
        screenshot(page, f"smoke-admin-{role.lower()}")
    assert expected <= labels, labels
    assert not (forbidden & labels), labels


def test_the_public_home_page_renders(live_server):
    with chromium_page() as page:
        page.goto(live_server.url + "/")
        screenshot(page, "smoke-public-home")
        assert page.locator("h1").first.inner_text().startswith("Install apps")
