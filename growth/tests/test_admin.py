from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backoffice.tests.factories import UserFactory, marketer, moderator
from growth.models import Campaign, Redemption, Referral
from growth.tests.factories import CampaignFactory, force_counters, redeem

pytestmark = pytest.mark.django_db


def campaign_form(**overrides):
    now = timezone.now()
    return {
        "name": "Spring",
        "description": "",
        "discount_kind": "percent",
        "discount_value": "15",
        "min_cart_total": "20",
        "max_cart_total": "100",
        "points_cost": "0",
        "audience": "all",
        "new_user_days": "30",
        "min_points": "0",
        "starts_at": (now - timedelta(days=1)).strftime("%Y-%m-%d %H:%M"),
        "ends_at": (now + timedelta(days=30)).strftime("%Y-%m-%d %H:%M"),
        "max_uses": "100",
        "budget": "",
        "per_user_limit": "1",
        "active": "on",
        **overrides,
    }


def test_a_marketer_creates_a_campaign(client):
    staff = marketer()
    client.force_login(staff)
    response = client.post("/admin/campaigns/new/", campaign_form())
    assert response.status_code == 302
    assert Campaign.objects.get().created_by == staff


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"ends_at": (timezone.now() - timedelta(days=3)).strftime("%Y-%m-%d %H:%M")}, "ends_at"),
        ({"discount_value": "150"}, "discount_value"),
        ({"discount_value": "0"}, "discount_value"),
        ({"audience": "points", "min_points": "0"}, "min_points"),
        ({"max_uses": "0"}, "max_uses"),
        ({"per_user_limit": "0"}, "per_user_limit"),
        ({"discount_value": "abc"}, "discount_value"),
    ],
)
def test_an_invalid_campaign_is_refused_with_a_field_error(client, overrides, field):
    client.force_login(marketer())
    response = client.post("/admin/campaigns/new/", campaign_form(**overrides))
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not Campaign.objects.exists()


def test_max_uses_cannot_drop_below_uses_already_made(client):
    campaign = CampaignFactory(max_uses=10)
    force_counters(campaign, uses_count=5)
    client.force_login(marketer())
    response = client.post(f"/admin/campaigns/edit/{campaign.pk}/", campaign_form(max_uses="3"))
    assert "max_uses" in response.context["form"].errors


def test_an_edit_is_recorded_in_history_with_its_author(client):
    staff = marketer()
    campaign = CampaignFactory(name="Old name")
    client.force_login(staff)
    client.post(f"/admin/campaigns/edit/{campaign.pk}/", campaign_form(name="New name"))
    latest = campaign.history.latest()
    assert (latest.name, latest.history_user) == ("New name", staff)
    assert client.get(f"/admin/campaigns/history/{campaign.pk}/").status_code == 200


def test_a_moderator_cannot_edit_campaigns(client):
    campaign = CampaignFactory(name="Untouched")
    client.force_login(moderator())
    response = client.post(f"/admin/campaigns/edit/{campaign.pk}/", campaign_form(name="Hacked"))
    campaign.refresh_from_db()
    assert response.status_code in (302, 403)
    assert campaign.name == "Untouched"
    assert client.get("/admin/campaigns/").status_code in (302, 403)


def test_the_inspect_page_previews_who_is_eligible(client):
    UserFactory(email="member@example.test", verified=True)
    UserFactory(email="unverified@example.test")
    campaign = CampaignFactory()
    client.force_login(marketer())
    response = client.get(f"/admin/campaigns/inspect/{campaign.pk}/")
    assert response.context["eligible"]["count"] == 1
    assert "member@example.test" in response.content.decode()


def test_marketers_list_referrals_and_redemptions_but_cannot_change_them(client):
    referral = Referral.objects.create(referrer=UserFactory(), referred=UserFactory())
    redemption = redeem(UserFactory(verified=True), CampaignFactory(), cart_total=10, key="k").redemption
    client.force_login(marketer())
    assert client.get("/admin/referrals/").status_code == 200
    assert client.get("/admin/redemptions/").status_code == 200
    assert client.get(f"/admin/redemptions/inspect/{redemption.pk}/").status_code == 200
    client.post(f"/admin/redemptions/delete/{redemption.pk}/")
    client.post(f"/admin/referrals/delete/{referral.pk}/")
    assert Redemption.objects.filter(pk=redemption.pk).exists() and Referral.objects.filter(pk=referral.pk).exists()
    assert client.get(f"/admin/referrals/edit/{referral.pk}/").status_code in (302, 403)


def test_the_campaigns_menu_keeps_its_label(client):
    client.force_login(marketer())
    assert "Campaigns" in client.get("/admin/").content.decode()


def test_the_campaign_listing_queries_stay_flat(client, django_assert_max_num_queries):
    for _ in range(10):
        CampaignFactory()
    client.force_login(marketer())
    with django_assert_max_num_queries(30):
        assert client.get("/admin/campaigns/").status_code == 200


def test_the_campaign_listing_does_not_query_each_campaigns_counters(client):
    client.force_login(marketer())
    CampaignFactory()
    client.get("/admin/campaigns/")  # warm: the first request also reads what every later one finds cached
    with CaptureQueriesContext(connection) as one:
        client.get("/admin/campaigns/")
    for _ in range(10):
        CampaignFactory()
    with CaptureQueriesContext(connection) as eleven:
        assert client.get("/admin/campaigns/").status_code == 200
    assert len(eleven) == len(one)


def test_the_redemption_and_referral_listings_do_not_query_per_row(client, django_assert_max_num_queries):
    campaign = CampaignFactory(per_user_limit=1)
    for n in range(12):
        redeem(UserFactory(verified=True), campaign, cart_total=10, key=f"k{n}")
        Referral.objects.create(referrer=UserFactory(), referred=UserFactory())
    client.force_login(marketer())
    with django_assert_max_num_queries(25):
        assert client.get("/admin/redemptions/").status_code == 200
    with django_assert_max_num_queries(25):
        assert client.get("/admin/referrals/").status_code == 200


def test_a_campaign_with_redemptions_cannot_be_deleted(client):
    campaign = CampaignFactory()
    redeem(UserFactory(verified=True), campaign, cart_total=10, key="k")
    client.force_login(marketer())
    response = client.post(f"/admin/campaigns/delete/{campaign.pk}/")
    assert response.status_code < 500
    assert Campaign.objects.filter(pk=campaign.pk).exists()


def test_a_campaign_without_redemptions_can_be_deleted(client):
    campaign = CampaignFactory()
    client.force_login(marketer())
    client.post(f"/admin/campaigns/delete/{campaign.pk}/")
    assert not Campaign.objects.filter(pk=campaign.pk).exists()


def test_staff_see_a_users_referrals_on_the_user_history_page(client):
    referrer, friend = UserFactory(), UserFactory(email="friend@example.test")
    Referral.objects.create(referrer=referrer, referred=friend)
    client.force_login(moderator())
    body = client.get(f"/admin/moderation/users/{referrer.pk}/").content.decode()
    assert "Referrals" in body and "friend@example.test" in body


def test_campaign_dates_use_wagtails_date_time_picker_with_a_format_hint(client):
    client.force_login(marketer())
    body = client.get("/admin/campaigns/new/").content.decode()
    for name in ("starts_at", "ends_at"):
        assert f'initDateTimeChooser("id_{name}"' in body
        assert f'aria-describedby="id_{name}-format"' in body
        assert f'id="id_{name}-format">Pick a date, or type it as 2026-12-01 09:30 (UTC).' in body
