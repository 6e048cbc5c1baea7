"""Every refused admin URL answers the same "not allowed" page, in the admin chrome, with status 403."""

import pytest

from backoffice.tests.factories import marketer, moderator

pytestmark = pytest.mark.django_db


def assert_not_allowed_page(response):
    body = response.content.decode()
    assert response.status_code == 403
    assert 'id="not-allowed"' in body and "You are not allowed to open this page" in body
    assert "sidebar" in body  # inside the admin chrome, with the menu, not a bare text answer


@pytest.mark.parametrize(
    ("role", "path"),
    [
        (moderator, "/admin/apps/"),  # a Wagtail viewset (used to redirect to the dashboard with a banner)
        (moderator, "/admin/campaigns/"),
        (marketer, "/admin/moderation/"),  # our own view (used to answer a bare text 403)
        (moderator, "/admin/moderation/invalidations/"),
        (marketer, "/admin/periodic_tasks/"),
        (moderator, "/admin/business-reports/"),
    ],
)
def test_each_refused_admin_url_answers_the_one_not_allowed_page(client, role, path):
    client.force_login(role())
    assert_not_allowed_page(client.get(path))


def test_a_refused_admin_post_answers_the_same_page(client):
    client.force_login(marketer())
    assert_not_allowed_page(client.post("/admin/moderation/bulk/", {"action": "approve"}))


def test_a_script_asking_gets_a_plain_403():
    from django.test import Client

    client = Client(headers={"x-requested-with": "XMLHttpRequest"})
    client.force_login(moderator())
    assert client.get("/admin/apps/").status_code == 403
