"""`available_campaigns` is cached per member and cart; every write that changes the answer invalidates it, and a dead
Redis only costs the cache (the list is computed, the request succeeds)."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient

from backoffice.tests.factories import UserFactory, marketer
from backoffice.tests.test_cache_outage import QUICKLY, broken_cache, timed  # noqa: F401  (the fixture)
from catalog.tests.factories import AppFactory
from commerce.plans import subscribe
from commerce.tests.factories import PlanFactory, member_with
from growth import campaigns
from growth.models import Campaign
from growth.tests.factories import CampaignFactory, redeem
from moderation.ledger import post_entry
from moderation.models import RewardEntry

pytestmark = pytest.mark.django_db


def available(user, cart_total="50", app=None):
    user = get_user_model().objects.get(pk=user.pk)  # the request's fresh row
    return [c.pk for c in campaigns.available_campaigns(user, Decimal(cart_total), app)]


def test_a_second_call_is_served_from_the_cache(django_assert_num_queries):
    member, campaign = UserFactory(verified=True), CampaignFactory()
    assert available(member) == [campaign.pk]
    fresh = get_user_model().objects.get(pk=member.pk)
    with django_assert_num_queries(0):
        assert [c.pk for c in campaigns.available_campaigns(fresh, Decimal("50"))] == [campaign.pk]


def test_presented_offers_are_cached_so_a_hit_presents_nothing_again():
    member, campaign = UserFactory(verified=True), CampaignFactory()
    presented = []

    def present(offer, cart_total):
        presented.append(offer.pk)
        return {"id": offer.pk, "cart_total": str(cart_total)}

    first = campaigns.available_campaigns(member, Decimal("50"), present=present)
    again = campaigns.available_campaigns(get_user_model().objects.get(pk=member.pk), Decimal("50"), present=present)

    assert first == again == [{"id": campaign.pk, "cart_total": "50"}]
    assert presented == [campaign.pk]


def test_presented_and_plain_lists_are_cached_apart():
    member, campaign = UserFactory(verified=True), CampaignFactory()
    assert campaigns.available_campaigns(member, Decimal("50"), present=lambda offer, total: offer.name) == [
        campaign.name
    ]
    assert available(member) == [campaign.pk]


def test_a_presented_offer_past_its_end_is_dropped_from_the_cached_list():
    member = UserFactory(verified=True)
    campaign = CampaignFactory(ends_at=timezone.now() + timezone.timedelta(minutes=1))
    present = lambda offer, total: offer.pk  # noqa: E731
    assert campaigns.available_campaigns(member, Decimal("50"), present=present) == [campaign.pk]
    later = timezone.now() + timezone.timedelta(minutes=2)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(campaigns.timezone, "now", lambda: later)
        assert campaigns.available_campaigns(member, Decimal("50"), present=present) == []


def test_a_cached_list_costs_one_cache_round_trip(monkeypatch):
    member, campaign = UserFactory(verified=True), CampaignFactory()
    assert available(member) == [campaign.pk]
    calls, depth = [], []

    def counted(name, method):
        def call(*args, **kwargs):  # only the calls campaigns makes, not the backend's own (get_many calls get)
            if not depth:
                calls.append(name)
            depth.append(name)
            try:
                return method(*args, **kwargs)
            finally:
                depth.pop()

        return call

    for name in ("get", "get_many", "has_key"):
        monkeypatch.setattr(campaigns.cache, name, counted(name, getattr(campaigns.cache, name)))

    assert available(member) == [campaign.pk]
    assert calls == ["get_many"]


def test_the_cache_is_per_cart():
    member, campaign = UserFactory(verified=True), CampaignFactory(min_cart_total=Decimal("40"))
    assert available(member, "50") == [campaign.pk]
    assert available(member, "30") == []


def test_a_new_campaign_shows_at_once(committed):
    member, first = UserFactory(verified=True), CampaignFactory()
    assert available(member) == [first.pk]
    new = committed(lambda: campaigns.create_campaign(campaign=CampaignFactory.build(), actor=marketer()))
    assert set(available(member)) == {first.pk, new.pk}


def test_an_edited_campaign_is_read_again(committed):
    member, campaign = UserFactory(verified=True), CampaignFactory()
    assert available(member) == [campaign.pk]
    campaign.min_cart_total = Decimal("80")
    committed(lambda: campaigns.update_campaign(campaign=campaign, actor=marketer()))
    assert available(member) == []


def test_a_deactivated_campaign_disappears(committed):
    member, campaign = UserFactory(verified=True), CampaignFactory()
    assert available(member) == [campaign.pk]
    committed(lambda: campaigns.deactivate_campaign(campaign=campaign, actor=marketer()))
    assert available(member) == []


def test_restricting_a_campaign_to_other_apps_removes_it(committed):
    member, campaign, app = UserFactory(verified=True), CampaignFactory(), AppFactory()
    assert available(member, app=app) == [campaign.pk]
    committed(lambda: campaign.eligible_apps.set([AppFactory()]))
    assert available(member, app=app) == []


def test_another_members_last_use_ends_it_for_everybody(committed):
    member, campaign = UserFactory(verified=True), CampaignFactory(max_uses=1)
    assert available(member) == [campaign.pk]
    committed(lambda: redeem(UserFactory(verified=True), campaign))
    assert available(member) == []


def test_a_void_gives_the_use_back_to_everybody(committed):
    member, campaign = UserFactory(verified=True), CampaignFactory(max_uses=1)
    redemption = committed(lambda: redeem(UserFactory(verified=True), campaign)).redemption
    assert available(member) == []
    committed(lambda: campaigns.void_redemption(redemption, actor=marketer(), reason="test"))
    assert available(member) == [campaign.pk]


def test_the_members_own_use_reaches_the_per_user_limit(committed):
    member, campaign = UserFactory(verified=True), CampaignFactory()  # unlimited: only the member's list changes
    assert available(member) == [campaign.pk]
    committed(lambda: redeem(member, campaign))
    assert available(member) == []


def test_verifying_the_phone_opens_the_campaigns():
    member, campaign = UserFactory(), CampaignFactory()
    assert available(member) == []
    get_user_model().objects.filter(pk=member.pk).update(phone_verified_at=timezone.now())
    assert available(member) == [campaign.pk]


def test_a_balance_change_is_seen_by_a_points_audience():
    member = UserFactory(verified=True)
    campaign = CampaignFactory(audience=Campaign.Audience.MIN_POINTS, min_points=10)
    assert available(member) == []
    post_entry(user=member, amount=10, kind=RewardEntry.Kind.ADJUST, reason="test")
    assert available(member) == [campaign.pk]


def test_subscribing_to_a_plan_opens_member_only_campaigns(committed):
    member = member_with(500)
    campaign = CampaignFactory(audience=Campaign.Audience.MEMBERS)
    before = get_user_model().objects.get(pk=member.pk)
    before.points_balance = 400  # the balance after paying the plan: only the plan itself differs between the calls
    assert campaigns.available_campaigns(before, Decimal("50")) == []
    committed(lambda: subscribe(member=member, plan=PlanFactory(member_campaigns=True, price=100)))
    assert available(member) == [campaign.pk]


def test_an_ended_campaign_is_dropped_from_a_cached_list(monkeypatch):
    member, campaign = UserFactory(verified=True), CampaignFactory()
    assert available(member) == [campaign.pk]
    later = campaign.ends_at + timezone.timedelta(seconds=1)
    monkeypatch.setattr(campaigns.timezone, "now", lambda: later)
    assert available(member) == []


def test_a_dead_redis_computes_the_list_and_answers_quickly(broken_cache):  # noqa: F811
    member, campaign = UserFactory(verified=True), CampaignFactory()
    api = APIClient()
    api.force_authenticate(member)
    response, seconds = timed(lambda: api.get("/api/campaigns/available/", {"cart_total": "50"}))
    assert response.status_code == 200, response.content
    assert [c["id"] for c in response.json()] == [campaign.pk] and seconds < QUICKLY


def test_a_dead_redis_does_not_fail_a_write_that_invalidates(broken_cache, committed):  # noqa: F811
    campaign = CampaignFactory()
    assert committed(lambda: redeem(UserFactory(verified=True), campaign)).created
    committed(lambda: campaigns.deactivate_campaign(campaign=campaign, actor=marketer()))
