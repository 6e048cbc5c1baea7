import pytest

from backoffice.testing.browser import WIDTHS, chromium_page, log_in_to_admin, screenshot
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


def test_a_moderator_approves_two_proofs_in_a_row_without_reloading_the_page(live_server):
    """The fetch path at desktop and phone widths: each approval swaps in the next proof, drops its row from the
    table and keeps the page (a marker set on the window survives); a reload then shows the proof on screen."""
    mod = moderator()
    with chromium_page() as page:
        log_in_to_admin(page, live_server.url, mod.email, PASSWORD)
        for width, height in WIDTHS:
            first, second, third = (ScreenshotProofFactory(download__app__points_reward=10) for _ in range(3))
            page.set_viewport_size({"width": width, "height": height})
            page.goto(f"{live_server.url}/admin/moderation/?age=")
            page.wait_for_selector(f"#current-proof[data-proof='{first.pk}']")
            page.evaluate("() => { window.stillThisPage = true; }")
            page.click("#approve-button")
            page.wait_for_selector(f"#current-proof[data-proof='{second.pk}']")
            assert page.locator(f"tr[data-proof='{first.pk}']").count() == 0
            assert page.locator("#mod-message").inner_text().startswith(f"Approved Proof #{first.pk} ")
            page.keyboard.press("a")
            page.wait_for_selector(f"#current-proof[data-proof='{third.pk}']")
            assert page.evaluate("() => window.stillThisPage === true")
            assert page.locator(f"tr[data-proof='{second.pk}']").count() == 0
            assert page.url == f"{live_server.url}/admin/moderation/?age="
            screenshot(page, f"moderation-queue-fetch-{width}")
            page.reload()
            page.wait_for_selector(f"#current-proof[data-proof='{third.pk}']")
            page.click("#skip-form button")  # back to the queue for the next width's proofs
            page.wait_for_load_state("networkidle")
            ScreenshotProof.objects.filter(pk=third.pk).update(status=ScreenshotProof.Status.REJECTED, reason="x")
    for proof in (first, second):
        proof.refresh_from_db()
        assert proof.status == ScreenshotProof.Status.APPROVED
