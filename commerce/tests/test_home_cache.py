"""The plans on the cached public home page follow a plan's change at once."""

import pytest

from commerce.tests.factories import PlanFactory

pytestmark = pytest.mark.django_db


def test_a_new_or_changed_plan_shows_on_the_cached_home_page(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        plan = PlanFactory(name="Silver")
    assert "Silver" in client.get("/").content.decode()
    plan.name = "Gold"
    with django_capture_on_commit_callbacks(execute=True):
        plan.save()
    body = client.get("/").content.decode()
    assert "Gold" in body and "Silver" not in body
