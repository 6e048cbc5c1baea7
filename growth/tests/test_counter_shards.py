"""A campaign's uses and budget split over counter shards (growth.campaign_counters): never oversold, exact sums."""

import threading
from decimal import Decimal

import pytest
from django.db import transaction

from backoffice.counters import writing_counters
from backoffice.testing.concurrency import run_in_threads, wait_until_a_session_waits_for_a_lock
from backoffice.tests.factories import UserFactory, marketer
from growth import campaign_counters, reconciliation
from growth.campaigns import RedemptionRefused, deactivate_campaign, update_campaign, void_redemption
from growth.models import Campaign, CampaignCounterShard, Redemption
from growth.tests.factories import CampaignFactory, redeem

pytestmark = pytest.mark.django_db


def shards_of(campaign):
    return list(CampaignCounterShard.objects.filter(campaign=campaign).order_by("slot"))


def refused_code(call):
    with pytest.raises(RedemptionRefused) as refused:
        call()
    return refused.value.code


def test_a_new_campaign_shares_its_uses_over_its_shards(settings):
    settings.CAMPAIGN_COUNTER_SHARDS = 4
    shards = shards_of(CampaignFactory(max_uses=10))
    assert [s.max_uses for s in shards] == [3, 3, 2, 2]


def test_budget_shares_hold_at_least_the_largest_discount(settings):
    settings.CAMPAIGN_COUNTER_SHARDS = 8
    campaign = CampaignFactory(discount_kind="fixed", discount_value=Decimal("10"), budget=Decimal("35"))
    assert [s.budget for s in shards_of(campaign) if s.budget] == [Decimal("11.67"), Decimal("11.67"), Decimal("11.66")]


def test_room_spread_thinner_than_one_discount_is_gathered_onto_one_shard(settings):
    settings.CAMPAIGN_COUNTER_SHARDS = 4
    campaign = CampaignFactory(discount_kind="fixed", discount_value=Decimal("5"), budget=Decimal("10"))
    shards = shards_of(campaign)
    for shard in shards:
        shard.budget = Decimal("2.50")
    with writing_counters():
        CampaignCounterShard.objects.bulk_update(shards, ["budget"])
    redeem(UserFactory(verified=True), campaign)
    redeem(UserFactory(verified=True), campaign)
    assert refused_code(lambda: redeem(UserFactory(verified=True), campaign)) == "budget_exhausted"
    assert sum(s.budget for s in shards_of(campaign)) == Decimal("10.00")
    assert Campaign.objects.get(pk=campaign.pk).budget_spent == Decimal("10.00")


def test_raising_max_uses_after_it_ran_out_makes_room_again():
    campaign = CampaignFactory(max_uses=1)
    redeem(UserFactory(verified=True), campaign)
    campaign.max_uses = 2
    update_campaign(campaign=campaign, actor=marketer())
    redeem(UserFactory(verified=True), campaign)
    assert refused_code(lambda: redeem(UserFactory(verified=True), campaign)) == "campaign_exhausted"
    assert sum(s.max_uses for s in shards_of(campaign)) == 2


def test_a_void_gives_the_use_back_to_the_campaign():
    campaign = CampaignFactory(max_uses=1)
    redemption = redeem(UserFactory(verified=True), campaign).redemption
    void_redemption(redemption, actor=marketer(), reason="mistake")
    redeem(UserFactory(verified=True), campaign)
    assert Campaign.objects.get(pk=campaign.pk).uses_count == 1
    assert reconciliation.find_differences()["campaigns"] == []


def test_a_claim_under_terms_changed_since_they_were_read_moves_nothing():
    campaign = CampaignFactory()
    stale = shards_of(campaign)[0].terms_version
    update_campaign(campaign=campaign, actor=marketer())
    assert campaign_counters.claim_use(campaign_id=campaign.pk, discount=Decimal(1), terms_version=stale) is None
    assert Campaign.objects.get(pk=campaign.pk).uses_count == 0


def test_deactivating_a_campaign_refuses_a_claim_read_before_it():
    campaign = CampaignFactory()
    stale = shards_of(campaign)[0].terms_version
    deactivate_campaign(campaign=campaign, actor=marketer())
    assert campaign_counters.claim_use(campaign_id=campaign.pk, discount=Decimal(1), terms_version=stale) is None


@pytest.mark.django_db(transaction=True)
def test_many_concurrent_redeems_spread_over_shards_and_never_oversell(on_postgres):
    campaign = CampaignFactory(max_uses=25, budget=Decimal("240"), discount_kind="fixed", discount_value=Decimal("10"))
    users = [UserFactory(verified=True) for _ in range(40)]
    results, errors = run_in_threads(40, lambda n: redeem(users[n], campaign, key=f"k{n}"))
    assert len(results) == 24  # the budget (240 / 10) runs out before the uses (25)
    assert {getattr(e, "code", None) for e in errors} <= {"budget_exhausted", "campaign_exhausted"}
    shards = shards_of(campaign)
    assert sum(1 for s in shards if s.uses_count) > 1
    assert all(s.uses_count <= s.max_uses and s.budget_spent <= s.budget for s in shards)
    assert sum(s.max_uses for s in shards) <= 25 and sum(s.budget for s in shards) <= Decimal("240")
    assert Redemption.objects.filter(campaign=campaign).count() == 24
    assert reconciliation.find_differences()["campaigns"] == []


@pytest.mark.django_db(transaction=True)
def test_a_redemption_waiting_on_an_edit_of_the_campaign_is_refused_not_charged(on_postgres):
    campaign, buyer, staff = CampaignFactory(), UserFactory(verified=True), marketer()
    editing = threading.Event()

    def marketer_edits():
        with transaction.atomic():
            campaign.discount_value = Decimal("50")
            update_campaign(campaign=campaign, actor=staff)  # every shard locked until COMMIT
            editing.set()
            wait_until_a_session_waits_for_a_lock(timeout=60)  # this machine's load: generous

    def member_redeems():
        editing.wait(60)
        return refused_code(lambda: redeem(buyer, Campaign.objects.get(pk=campaign.pk)))

    results, errors = run_in_threads(2, lambda n: (marketer_edits, member_redeems)[n]())
    assert errors == []
    assert "campaign_changed" in results
    assert Redemption.objects.count() == 0
