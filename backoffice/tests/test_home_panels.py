"""The admin home shows each role what needs it, through each app's `construct_homepage_panels` hook."""

import datetime

import pytest
from django.utils import timezone

from backoffice.models import TaskRun
from backoffice.tests.factories import admin, marketer, moderator
from catalog.models import ProductUpload
from growth.tests.factories import CampaignFactory, force_counters
from moderation.tests.factories import ScreenshotProofFactory

pytestmark = pytest.mark.django_db


def home(client, user):
    client.force_login(user)
    response = client.get("/admin/")
    assert response.status_code == 200
    return response.content.decode()


def test_a_moderator_sees_the_pending_count_the_oldest_wait_and_a_start_button(client):
    for minutes in (5, 42):
        proof = ScreenshotProofFactory()
        type(proof).objects.filter(pk=proof.pk).update(
            submitted_at=timezone.now() - datetime.timedelta(minutes=minutes)
        )
    body = home(client, moderator())
    assert "<strong>2</strong> proofs waiting" in body
    assert "the oldest has waited <strong>42 min</strong>" in body
    assert 'id="start-moderating"' in body and "Start moderating" in body
    assert "Live campaigns" not in body and "Failing jobs" not in body


def test_a_marketer_sees_live_campaigns_with_their_budget_burn(client):
    now = timezone.now()
    live = CampaignFactory(name="Spring sale", budget=200, starts_at=now - datetime.timedelta(days=1))
    force_counters(live, budget_spent=50)
    CampaignFactory(
        name="Long gone", starts_at=now - datetime.timedelta(days=9), ends_at=now - datetime.timedelta(days=2)
    )
    body = home(client, marketer())
    assert "Live campaigns" in body and "Spring sale" in body and "Long gone" not in body
    assert "50.00 of 200.00 (25 %)" in body
    assert "Moderation queue" not in body and "Failing jobs" not in body


def test_an_admin_sees_failing_jobs_and_uploads_left_at_the_preview(client):
    TaskRun.objects.create(task_name="catalog.tasks.import_competitor_prices", status="failed", error="feed down")
    TaskRun.objects.create(task_name="reporting.tasks.rollup_daily", status="succeeded")
    ProductUpload.objects.create(original_name="spring-prices.csv", status="previewed")
    ProductUpload.objects.create(original_name="done.csv", status="imported")
    body = home(client, admin())
    assert "catalog.tasks.import_competitor_prices" in body and "feed down" in body
    assert "reporting.tasks.rollup_daily" not in body
    assert "spring-prices.csv" in body and "done.csv" not in body


def test_the_home_page_has_no_page_search_or_page_counts(client):
    body = home(client, admin())
    assert "Search all pages" not in body
    assert "wagtailadmin_explore" not in body and 'role="search"' not in body
