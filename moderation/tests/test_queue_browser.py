import pytest

from backoffice.testing.browser import chromium_page, log_in_to_admin, screenshot
from backoffice.tests.factories import PASSWORD, moderator
from moderation.models import ScreenshotProof
from moderation.tests.factories import ScreenshotProofFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_moderator_approves_then_rejects_from_the_queue_with_the_keyboard(live_server):
    first = ScreenshotProofFactory(download__app__name="Alpha Notes", download__app__points_reward=40)
    second = ScreenshotProofFactory(download__app__name="Beta Maps")
    mod = moderator()
    with chromium_page() as page:
        log_in_to_admin(page, live_server.url, mod.email, PASSWORD)
        page.goto(f"{live_server.url}/admin/moderation/")
        page.wait_for_selector(f"#current-proof[data-proof='{first.pk}']")
        screenshot(page, "moderation-queue")
        page.keyboard.press("a")
        page.wait_for_selector(f"#current-proof[data-proof='{second.pk}']")
        page.keyboard.press("r")
        page.keyboard.type("Not the app")
        page.keyboard.press("Enter")
        page.wait_for_selector("[data-testid=queue-empty]")
    first.refresh_from_db()
    second.refresh_from_db()
    first.download.user.refresh_from_db()
    assert (first.status, first.download.user.points_balance) == (ScreenshotProof.Status.APPROVED, 40)
    assert (second.status, second.reason) == (ScreenshotProof.Status.REJECTED, "Not the app")
