import pytest

from backoffice.images import placeholder_png
from backoffice.testing.browser import chromium_page, screenshot
from backoffice.tests.factories import UserFactory
from catalog.tests.factories import AppFactory
from growth.tests.browser_steps import sign_up_by_referral_link_and_upload_a_proof
from moderation.models import ScreenshotProof

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_signup_by_referral_link_then_verify_phone_then_download_and_upload_a_proof(live_server, tmp_path):
    referrer = UserFactory(verified=True)
    app = AppFactory(name="Chess Coach")
    shot = tmp_path / "shot.png"
    shot.write_bytes(placeholder_png("ok", size=(90, 160), name="shot.png").read())

    with chromium_page() as page:
        sign_up_by_referral_link_and_upload_a_proof(
            page,
            live_server.url,
            referral_code=referrer.referral_code,
            email="newbie@example.test",
            phone="+15550009999",
            password="a-long-unusual-passphrase-42",
            app=app,
            image=shot,
        )
        assert "Pending" in page.text_content("table")
        screenshot(page, "growth-signup-to-proof")

    referrer.refresh_from_db()
    assert referrer.points_balance == 50
    assert ScreenshotProof.objects.get().download.user.email == "newbie@example.test"
