"""Every main screen, as each kind of user sees it on the demo data, at 1440 px and on a 390 px phone.

Each screen is photographed into test-artifacts/ (`screens-<who>-<screen>-<width>.png`) and must have no horizontal
overflow, no broken image and no serious or critical axe-core violation. One test per role walks its screens.
"""

import pytest
from django.apps import apps
from django.core.management import call_command

from backoffice.demo import MEMBER_PASSWORD, STAFF
from backoffice.roles import sync_roles
from backoffice.testing.browser import check_screen, chromium_page, log_in_to_admin, log_in_to_site
from growth.models import Campaign
from moderation.models import ScreenshotProof

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORDS = {email: password for email, password, _ in STAFF}


@pytest.fixture
def demo(monkeypatch, settings):
    monkeypatch.setattr("backoffice.demo.MEMBER_COUNT", 60)
    settings.WAGTAIL_GRAVATAR_PROVIDER_URL = None  # no network here; helper "security" turns Gravatar off for good
    sync_roles(apps)  # transactional tests flush the groups the data migration made
    call_command("load_demo_data", verbosity=0)


def walk(page, base, who, screens):
    problems = []
    for name, path in screens:
        check_screen(page, base + path, f"screens-{who}-{name}", problems)
    return problems


def test_a_visitor_and_a_member_see_every_public_screen_clean(live_server, demo):
    from django.contrib.auth import get_user_model

    from catalog.models import App
    from growth.tests.factories import CampaignFactory

    app = App.objects.order_by("name").first()
    unverified = get_user_model().objects.filter(is_staff=False, phone_verified_at__isnull=True).first()
    offer = CampaignFactory(name="Winter 15%", points_cost=30)
    with chromium_page() as page:
        problems = walk(
            page,
            live_server.url,
            "visitor",
            [
                ("home", "/"),
                ("apps", "/apps/"),
                ("app", f"/apps/{app.slug}/"),
                ("signup", "/accounts/signup/"),
                ("login", "/accounts/login/"),
                ("leaderboard", "/leaderboard/"),
            ],
        )
        log_in_to_site(page, live_server.url, "user1@example.com", MEMBER_PASSWORD)
        problems += walk(
            page,
            live_server.url,
            "member",
            [
                ("home", "/"),
                ("app", f"/apps/{app.slug}/"),
                ("points", "/me/points/"),
                ("proofs", "/me/proofs/"),
                ("downloads", "/me/downloads/"),
                ("referrals", "/me/referrals/"),
                ("leaderboard", "/leaderboard/"),
                ("discounts", "/discounts/"),
                ("redeem-confirm", f"/discounts/{offer.pk}/redeem/?cart_total=40"),
                ("inbox", "/me/notifications/"),
            ],
        )
        proof = ScreenshotProof.objects.filter(download__user__email="user1@example.com").first()
        problems += walk(page, live_server.url, "member", [("proof", f"/me/proofs/{proof.pk}/")])
        page.context.clear_cookies()
        log_in_to_site(page, live_server.url, unverified.email, MEMBER_PASSWORD)
        problems += walk(page, live_server.url, "new-member", [("verify-phone", "/accounts/phone/")])
    assert problems == [], "\n".join(problems)


def test_the_phone_menu_opens_from_its_button_and_the_wide_nav_has_none(live_server):
    from backoffice.tests.factories import PASSWORD, UserFactory

    member = UserFactory(verified=True)
    with chromium_page() as page:
        log_in_to_site(page, live_server.url, member.email, PASSWORD)
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(live_server.url + "/")
        assert page.is_visible(".menu-toggle") and not page.is_visible("#site-nav")
        assert page.evaluate("document.querySelector('.site-header').getBoundingClientRect().height") < 80
        page.click(".menu-toggle")
        assert page.is_visible("#site-nav a[href='/me/downloads/']")
        assert page.get_attribute(".menu-toggle", "aria-expanded") == "true"
        page.set_viewport_size({"width": 1440, "height": 900})
        assert not page.is_visible(".menu-toggle") and page.is_visible("#site-nav a[href='/discounts/']")


def admin_walk(page, live_server, email, who, screens):
    log_in_to_admin(page, live_server.url, email, PASSWORDS[email])
    return walk(page, live_server.url, who, screens)


def test_a_moderator_sees_every_moderation_screen_clean(live_server, demo):
    proof = ScreenshotProof.objects.filter(status="approved").first()
    with chromium_page() as page:
        problems = admin_walk(
            page,
            live_server,
            "moderator@example.com",
            "moderator",
            [
                ("home", "/admin/"),
                ("queue", "/admin/moderation/"),
                ("proofs", "/admin/moderation/proofs/"),
                ("proof", f"/admin/moderation/proofs/{proof.pk}/"),
                ("not-allowed", "/admin/campaigns/"),
            ],
        )
        page.goto(live_server.url + "/admin/")
        assert page.is_visible("#start-moderating")
        page.set_viewport_size({"width": 1440, "height": 900})
        page.goto(live_server.url + "/admin/moderation/")
        boxes = [page.locator(f".mod-filters [name={name}]").bounding_box() for name in ("app", "user", "age")]
        assert len({(round(b["width"]), round(b["height"])) for b in boxes}) == 1, boxes  # one size for every filter
        clear = page.locator(".mod-filter-actions a").bounding_box()
        assert clear["height"] <= boxes[0]["height"] + 2 and clear["y"] >= boxes[0]["y"] - 2, (
            clear
        )  # one line, same row
        assert page.locator(".mod-filters [name=app] option").first.inner_text() == "Any app"
    assert problems == [], "\n".join(problems)


def test_a_marketer_sees_every_campaign_and_report_screen_clean(live_server, demo):
    campaign = Campaign.objects.get(name="Loyal 20%")
    with chromium_page() as page:
        problems = admin_walk(
            page,
            live_server,
            "marketer@example.com",
            "marketer",
            [
                ("home", "/admin/"),
                ("campaigns", "/admin/campaigns/"),
                ("campaign-edit", f"/admin/campaigns/edit/{campaign.pk}/"),
                ("campaign-new", "/admin/campaigns/new/"),
                ("dashboard", "/admin/business-reports/"),
                ("not-allowed", "/admin/moderation/"),
            ],
        )
    assert problems == [], "\n".join(problems)


def test_an_admin_sees_every_catalog_schedule_and_report_screen_clean(live_server, demo):
    from catalog.models import App

    app = App.objects.order_by("name").first()
    with chromium_page() as page:
        problems = admin_walk(
            page,
            live_server,
            "admin@example.com",
            "admin",
            [
                ("home", "/admin/"),
                ("queue", "/admin/moderation/"),
                ("apps", "/admin/apps/"),
                ("app-edit", f"/admin/apps/edit/{app.pk}/"),
                ("products", "/admin/products/"),
                ("uploads", "/admin/product_uploads/"),
                ("upload-new", "/admin/product_uploads/new/"),
                ("schedules", "/admin/periodic_tasks/"),
                ("job-runs", "/admin/task_runs/"),
                ("dashboard", "/admin/business-reports/"),
                ("campaigns", "/admin/campaigns/"),
            ],
        )
    assert problems == [], "\n".join(problems)
