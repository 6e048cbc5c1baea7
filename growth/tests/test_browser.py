import re

import pytest

from backoffice.images import placeholder_png
from backoffice.testing.browser import chromium_page, screenshot
from backoffice.tests.factories import UserFactory
from catalog.tests.factories import AppFactory
from growth.sms import ConsoleSMSBackend
from moderation.models import ScreenshotProof

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_signup_by_referral_link_then_verify_phone_then_download_and_upload_a_proof(live_server, tmp_path):
    referrer = UserFactory(verified=True)
    app = AppFactory(name="Chess Coach")
    shot = tmp_path / "shot.png"
    shot.write_bytes(placeholder_png("ok", size=(90, 160), name="shot.png").read())

    with chromium_page() as page:
        page.set_viewport_size({"width": 390, "height": 844})  # a phone
        page.goto(f"{live_server.url}/r/{referrer.referral_code}/")
        assert page.input_value("input[name=referral_code]") == referrer.referral_code
        page.fill("input[name=email]", "newbie@example.test")
        page.fill("input[name=phone]", "+15550009999")
        page.fill("input[name=password1]", "a-long-unusual-passphrase-42")
        page.fill("input[name=password2]", "a-long-unusual-passphrase-42")
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/accounts/phone/")

        code = re.search(r"\d{6}", ConsoleSMSBackend.outbox[-1]["body"]).group(0)
        page.fill("input[name=code]", code)
        page.click("button[value=verify]")
        page.wait_for_url(f"{live_server.url}/apps/")

        page.click(f"text={app.name}")
        page.click("#mark-downloaded")
        page.set_input_files("input[name=image]", str(shot))
        page.click("#upload-proof")
        page.wait_for_url(f"{live_server.url}/me/proofs/")
        assert "Pending" in page.text_content("table")
        screenshot(page, "growth-signup-to-proof")

    referrer.refresh_from_db()
    assert referrer.points_balance == 50
    assert ScreenshotProof.objects.get().download.user.email == "newbie@example.test"
