"""End-to-end journeys in headless Chromium against a live server, one per job people do here.

Each leaves screenshots in test-artifacts/ (see backoffice.testing.browser).
"""

import datetime
import re

import pytest
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from backoffice.images import placeholder_png
from backoffice.roles import ADMINS, MARKETERS, MODERATORS
from backoffice.testing.browser import chromium_page, log_in_to_admin, screenshot, upload_product_file
from backoffice.tests.factories import PASSWORD, StaffFactory, UserFactory
from catalog.models import Product, ProductPriceChange
from catalog.tests.factories import AppFactory, ProductFactory, StoreFactory
from growth.models import Redemption
from growth.sms import ConsoleSMSBackend
from growth.tests.browser_steps import sign_up_by_referral_link_and_upload_a_proof
from moderation.models import RewardEntry, ScreenshotProof

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in_to_site(page, base_url, email, password=PASSWORD):
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", password)
    page.click("main button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def points_shown(page, base_url):
    page.goto(f"{base_url}/me/points/")
    return int(re.search(r"(-?\d+)\s*pts", page.text_content(".site-header")).group(1))


def test_a_referred_member_earns_points_a_moderator_approves_and_an_admin_invalidates(live_server, tmp_path):
    """Journeys 1-3: sign up by referral link, verify the phone, prove a download; approve it from the queue
    with the keyboard; invalidate it with a reason, and see the balance drop and the audit report list it."""
    ConsoleSMSBackend.outbox.clear()
    referrer = UserFactory(verified=True)
    app = AppFactory(name="Orbit Notes", points_reward=120)
    moderator, admin = StaffFactory(role=MODERATORS), StaffFactory(role=ADMINS)
    shot = tmp_path / "shot.png"
    shot.write_bytes(placeholder_png("ok", size=(180, 320), name="shot.png").read())
    password = "a-long-unusual-passphrase-42"

    with chromium_page() as page:  # 1. the member
        sign_up_by_referral_link_and_upload_a_proof(
            page,
            live_server.url,
            referral_code=referrer.referral_code,
            email="orbit.fan@example.test",
            phone="+15550004242",
            password=password,
            app=app,
            image=shot,
        )
        screenshot(page, "journey-1-proof-uploaded")
    proof = ScreenshotProof.objects.get(download__user__email="orbit.fan@example.test")

    with chromium_page() as page:  # 2. the moderator, keyboard only
        log_in_to_admin(page, live_server.url, moderator.email, PASSWORD)
        page.goto(f"{live_server.url}/admin/moderation/")
        page.wait_for_selector(f"#current-proof[data-proof='{proof.pk}']")
        screenshot(page, "journey-2-queue")
        page.keyboard.press("a")
        page.wait_for_selector("[data-testid=queue-empty]")

    with chromium_page() as page:  # ... and the member sees the points
        log_in_to_site(page, live_server.url, "orbit.fan@example.test", password)
        assert points_shown(page, live_server.url) == 120
        screenshot(page, "journey-2-member-points")

    with chromium_page() as page:  # 3. the admin invalidates with a reason
        log_in_to_admin(page, live_server.url, admin.email, PASSWORD)
        page.goto(f"{live_server.url}/admin/moderation/proofs/{proof.pk}/")
        page.fill("#invalidate-form [name=reason]", "Screenshot reused from another account")
        page.click("#invalidate-form button[type=submit]")
        page.wait_for_load_state()
        page.goto(f"{live_server.url}/admin/moderation/invalidations/")
        report = page.text_content("table")
        screenshot(page, "journey-3-invalidations-report")
    assert "Screenshot reused from another account" in report
    assert admin.email in report

    with chromium_page() as page:
        log_in_to_site(page, live_server.url, "orbit.fan@example.test", password)
        assert points_shown(page, live_server.url) == 0
        screenshot(page, "journey-3-member-points-after")

    proof.refresh_from_db()
    assert proof.status == ScreenshotProof.Status.INVALIDATED
    assert RewardEntry.objects.filter(kind=RewardEntry.Kind.INVALIDATE, actor=admin, amount=-120).count() == 1


def test_a_marketer_creates_a_campaign_and_a_member_redeems_it_once(live_server):
    marketer = StaffFactory(role=MARKETERS)
    member = UserFactory(verified=True)
    starts = timezone.localtime() - datetime.timedelta(hours=1)
    ends = starts + datetime.timedelta(days=14)

    with chromium_page() as admin_page:
        log_in_to_admin(admin_page, live_server.url, marketer.email, PASSWORD)
        admin_page.goto(f"{live_server.url}/admin/campaigns/new/")
        admin_page.fill("input[name=name]", "Winter 15%")
        admin_page.select_option("select[name=discount_kind]", "percent")
        admin_page.fill("input[name=discount_value]", "15")
        admin_page.fill("input[name=starts_at]", starts.strftime("%Y-%m-%d %H:%M"))
        admin_page.fill("input[name=ends_at]", ends.strftime("%Y-%m-%d %H:%M"))
        admin_page.fill("input[name=max_uses]", "100")
        admin_page.fill("input[name=per_user_limit]", "1")
        screenshot(admin_page, "journey-4-campaign-form")
        admin_page.click("button[type=submit]:has-text('Create')")
        admin_page.wait_for_url(f"{live_server.url}/admin/campaigns/")
        assert "Winter 15%" in admin_page.text_content("main")

    with chromium_page() as page:
        log_in_to_site(page, live_server.url, member.email)
        page.goto(f"{live_server.url}/discounts/?cart_total=40&cart_reference=order-1")
        second_tab = page.context.new_page()
        second_tab.goto(f"{live_server.url}/discounts/?cart_total=40&cart_reference=order-1")

        page.click(".offer:has-text('Winter 15%') button")
        second_tab.click(".offer:has-text('Winter 15%') button")
        assert "6.00 off" in page.text_content(".confirm")  # nothing is spent before the member confirms
        screenshot(page, "journey-4-confirm")
        page.click("#confirm-redeem")
        assert "Redeemed Winter 15%" in page.text_content(".messages")
        screenshot(page, "journey-4-redeemed")

        second_tab.click("#confirm-redeem")
        refusal = second_tab.text_content(".messages")
        screenshot(second_tab, "journey-4-second-try-refused")

    assert "already used this campaign" in refusal
    assert Redemption.objects.filter(user=member, campaign__name="Winter 15%").count() == 1


def test_an_admin_bulk_uploads_products_with_a_dry_run_then_confirms(live_server, tmp_path):
    admin = StaffFactory(role=ADMINS)
    store = StoreFactory()
    existing = ProductFactory(store=store, sku="SKU-1", price="10.00")
    csv = tmp_path / "products.csv"
    csv.write_text(
        f"store,sku,name,price,stock\n{store.slug},SKU-1,Kettle,12.50,3\n{store.slug},SKU-2,Toaster,30.00,8\n"
    )

    with chromium_page() as page:
        log_in_to_admin(page, live_server.url, admin.email, PASSWORD)
        upload_product_file(page, live_server.url, csv)
        page.wait_for_selector("[data-upload-confirm]")
        screenshot(page, "journey-5-dry-run-preview")
        assert Product.objects.count() == 1, "a dry run writes nothing"

        page.click("[data-upload-confirm]")
        page.wait_for_load_state()
        screenshot(page, "journey-5-imported")

    existing.refresh_from_db()
    assert str(existing.price) == "12.50"
    assert Product.objects.filter(sku="SKU-2", store=store).exists()
    assert ProductPriceChange.objects.filter(product=existing, new_price="12.50").exists()


def test_an_admin_changes_a_periodic_tasks_schedule(live_server):
    admin = StaffFactory(role=ADMINS)
    task = PeriodicTask.objects.filter(task="reporting.tasks.rollup_daily").first()
    if task is None:  # transactional tests start from an empty database
        crontab = CrontabSchedule.objects.create(minute="0", hour="1")
        task = PeriodicTask.objects.create(name="Daily rollup", task="reporting.tasks.rollup_daily", crontab=crontab)
    five_past_three = CrontabSchedule.objects.create(minute="5", hour="3")

    with chromium_page() as page:
        log_in_to_admin(page, live_server.url, admin.email, PASSWORD)
        page.goto(f"{live_server.url}/admin/periodic_tasks/edit/{task.pk}/")
        page.select_option("select[name=crontab]", str(five_past_three.pk))
        screenshot(page, "journey-6-schedule-form")
        page.click("button[type=submit]:has-text('Save')")
        page.wait_for_url(f"{live_server.url}/admin/periodic_tasks/")
        screenshot(page, "journey-6-schedules")

    task.refresh_from_db()
    assert task.crontab_id == five_past_three.pk
