"""The marketers' campaign API: CRUD through the campaign service, with the admin's rules, permissions and history."""

import pytest
from rest_framework.test import APIClient

from backoffice.tests.factories import UserFactory, admin, marketer, moderator
from growth.models import Campaign

from .factories import CampaignFactory, redeem
from .test_admin import campaign_form

pytestmark = pytest.mark.django_db

URL = "/api/campaigns/"


def api_as(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


API_FIELDS = ("name", "discount_kind", "discount_value", "starts_at", "ends_at", "max_uses")


def new_campaign(**overrides):
    """The API's required fields, valued as in the admin's campaign form (its dates are ISO 8601 as well)."""
    form = campaign_form(name="Spring sale")
    return {**{field: form[field] for field in API_FIELDS}, **overrides}


def test_a_marketer_creates_a_campaign_with_its_author_in_the_history():
    author = marketer()
    response = api_as(author).post(URL, new_campaign(), format="json")
    assert response.status_code == 201, response.content
    campaign = Campaign.objects.get(pk=response.json()["id"])
    assert (campaign.name, campaign.created_by) == ("Spring sale", author)
    assert campaign.history.get().history_user == author


def test_a_marketer_lists_and_reads_campaigns():
    campaign = CampaignFactory(name="Listed")
    client = api_as(marketer())
    assert [row["name"] for row in client.get(URL).json()["results"]] == ["Listed"]
    assert client.get(f"{URL}{campaign.pk}/").json()["uses_count"] == 0


def test_the_service_rules_refuse_a_bad_campaign_and_nothing_is_written():
    response = api_as(marketer()).post(URL, new_campaign(discount_value="150", max_uses=0), format="json")
    assert response.status_code == 400
    details = response.json()["error"]["details"]
    assert set(details) >= {"discount_value", "max_uses"}
    assert not Campaign.objects.exists()


@pytest.mark.parametrize(
    "bad",
    [
        {"discount_value": "lots"},
        {"starts_at": "next tuesday"},
        {"max_uses": -3},
        {"discount_kind": "free"},
        {"eligible_apps": [999999]},
        {"name": None},
    ],
)
def test_wrong_types_are_a_400_in_the_api_shape(bad):
    response = api_as(marketer()).post(URL, new_campaign(**bad), format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid"
    assert not Campaign.objects.exists()


def test_missing_fields_are_named():
    response = api_as(marketer()).post(URL, {"name": "Half"}, format="json")
    assert response.status_code == 400
    assert {"discount_value", "starts_at", "ends_at"} <= set(response.json()["error"]["details"])


def test_counters_cannot_be_written_through_the_api():
    campaign = CampaignFactory(max_uses=5)
    response = api_as(marketer()).patch(f"{URL}{campaign.pk}/", {"uses_count": 5, "budget_spent": "9"}, format="json")
    assert response.status_code == 200
    campaign.refresh_from_db()
    assert (campaign.uses_count, campaign.budget_spent) == (0, 0)


def test_a_patch_cannot_lower_the_limit_below_what_is_used():
    campaign = CampaignFactory(max_uses=5)
    redeem(UserFactory(verified=True), campaign)
    response = api_as(marketer()).patch(f"{URL}{campaign.pk}/", {"max_uses": 0}, format="json")
    assert response.status_code == 400 and "max_uses" in response.json()["error"]["details"]


def test_deleting_an_unused_campaign_works():
    campaign = CampaignFactory()
    assert api_as(marketer()).delete(f"{URL}{campaign.pk}/").status_code == 204
    assert not Campaign.objects.filter(pk=campaign.pk).exists()


def test_a_redeemed_campaign_is_not_deleted_but_can_be_deactivated():
    campaign = CampaignFactory()
    redeem(UserFactory(verified=True), campaign)
    client = api_as(marketer())
    response = client.delete(f"{URL}{campaign.pk}/")
    assert response.status_code == 409 and response.json()["error"]["code"] == "campaign_has_redemptions"
    assert client.patch(f"{URL}{campaign.pk}/", {"active": False}, format="json").status_code == 200
    campaign.refresh_from_db()
    assert campaign.active is False and campaign.redemptions.count() == 1


@pytest.mark.parametrize("who", [UserFactory, moderator])
def test_members_and_moderators_are_refused(who):
    campaign = CampaignFactory()
    client = api_as(who())
    assert client.get(URL).status_code == 403
    assert client.post(URL, new_campaign(), format="json").status_code == 403
    assert client.delete(f"{URL}{campaign.pk}/").status_code == 403
    assert Campaign.objects.count() == 1


def test_admins_read_campaigns_but_do_not_edit_them():
    """Admins hold `view_campaign` only (campaigns are the marketers'), exactly as in the admin screens."""
    campaign = CampaignFactory()
    client = api_as(admin())
    assert client.get(f"{URL}{campaign.pk}/").status_code == 200
    assert client.patch(f"{URL}{campaign.pk}/", {"name": "Mine"}, format="json").status_code == 403


def test_anonymous_visitors_are_asked_to_log_in():
    assert APIClient().get(URL).status_code in (401, 403)


def test_the_campaign_list_does_not_query_each_campaigns_counters():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api_as(marketer())
    CampaignFactory()
    client.get(URL)  # warm: the first request also reads what every later one finds cached
    with CaptureQueriesContext(connection) as one:
        client.get(URL)
    for _ in range(10):
        CampaignFactory()
    with CaptureQueriesContext(connection) as eleven:
        assert len(client.get(URL).json()["results"]) == 11
    assert len(eleven) == len(one)
