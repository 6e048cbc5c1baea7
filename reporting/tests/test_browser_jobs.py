"""An Admin runs a schedule now and sends a failed email again, in headless Chromium, wide and narrow."""

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from backoffice.models import Delivery, TaskRun
from backoffice.testing.browser import chromium_page, log_in_to_admin, screenshot
from backoffice.tests.factories import PASSWORD, admin, email_delivery

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1440, 390])
def test_an_admin_runs_a_schedule_now_and_sends_a_failed_email_again(live_server, width):
    every_5_minutes = IntervalSchedule.objects.create(every=5, period="minutes")
    task = PeriodicTask.objects.create(name="Claims", task="moderation.tasks.expire_claims", interval=every_5_minutes)
    failed = email_delivery()
    user = admin()
    with chromium_page() as page:
        page.set_viewport_size({"width": width, "height": 900})
        log_in_to_admin(page, live_server.url, user.email, PASSWORD)

        page.goto(f"{live_server.url}/admin/periodic_tasks/{task.pk}/run/")
        page.click("button:has-text('Run now')")
        page.wait_for_url("**/admin/task_runs/?task_name=moderation.tasks.expire_claims")
        page.get_by_text("is succeeded").wait_for()
        assert page.locator("table").get_by_text(user.email).count() == 1
        screenshot(page, f"schedules-run-now-{width}")

        page.goto(f"{live_server.url}/admin/deliveries/{failed.pk}/retry/")
        page.click("button:has-text('Send again')")
        page.wait_for_url("**/admin/deliveries/")
        screenshot(page, f"deliveries-{width}")

    assert TaskRun.objects.get().requested_by == user
    assert Delivery.objects.get().status == Delivery.Status.SENT
