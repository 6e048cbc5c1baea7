"""Membership plans: subscribing through the ledger, expiry, and the perks other apps ask for through hooks."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from backoffice.testing.concurrency import run_in_threads
from backoffice.tests.factories import UserFactory, moderator
from catalog.tests.factories import AppFactory
from commerce import plans, tasks
from commerce.errors import SubscriptionRefused
from commerce.models import Subscription
from commerce.tests.factories import PlanFactory, member_with
from growth import campaigns as growth_campaigns
from growth.models import Campaign
from growth.tests.factories import CampaignFactory
from moderation.ledger import post_entry
from moderation.models import RewardEntry
from moderation.proofs import approve_proof
from moderation.tests.factories import ScreenshotProofFactory

pytestmark = pytest.mark.django_db


def refused_code(call):
    with pytest.raises(SubscriptionRefused) as refused:
        call()
    return refused.value.code


def test_subscribing_pays_the_price_through_the_ledger_for_the_plan_duration():
    member, plan = member_with(150), PlanFactory(price=100, duration_days=30)
    subscription = plans.subscribe(member=member, plan=plan)
    member.refresh_from_db()
    assert member.points_balance == 50
    assert subscription.ends_at - subscription.starts_at == timedelta(days=30)
    entry = RewardEntry.objects.get(kind=RewardEntry.Kind.PLAN)
    assert (entry.amount, entry.source) == (-100, subscription)


def test_a_running_subscription_refuses_a_second_one():
    member = member_with(500)
    plans.subscribe(member=member, plan=PlanFactory())
    assert refused_code(lambda: plans.subscribe(member=member, plan=PlanFactory())) == "already_subscribed"
    assert Subscription.objects.count() == 1


def test_an_insufficient_balance_is_refused_and_writes_nothing():
    member = member_with(50)
    assert refused_code(lambda: plans.subscribe(member=member, plan=PlanFactory(price=100))) == "insufficient_points"
    assert Subscription.objects.count() == 0


def test_an_inactive_plan_or_unverified_phone_is_refused():
    assert refused_code(lambda: plans.subscribe(member=member_with(500), plan=PlanFactory(active=False))) == (
        "plan_inactive"
    )
    assert refused_code(lambda: plans.subscribe(member=UserFactory(), plan=PlanFactory())) == "phone_not_verified"


def test_the_expiry_job_expires_ended_subscriptions_and_a_member_can_subscribe_again():
    member, plan = member_with(500), PlanFactory(duration_days=1)
    plans.subscribe(member=member, plan=plan, now=timezone.now() - timedelta(days=2))
    assert tasks.expire_subscriptions.delay().get() == 1
    assert Subscription.objects.get().status == Subscription.Status.EXPIRED
    assert tasks.expire_subscriptions.delay().get() == 0
    plans.subscribe(member=member, plan=plan)
    assert Subscription.objects.filter(member=member).count() == 2


def test_a_plan_multiplies_the_points_of_an_approved_proof():
    proof = ScreenshotProofFactory(download__app=AppFactory(points_reward=100))
    member = proof.download.user
    post_entry(user=member, amount=100, kind=RewardEntry.Kind.ADJUST, reason="seed")
    plans.subscribe(member=member, plan=PlanFactory(price=100, points_multiplier=Decimal("1.5")))
    approve_proof(proof=proof, moderator=moderator())
    assert RewardEntry.objects.get(kind=RewardEntry.Kind.EARN).amount == 150


def test_without_a_plan_the_reward_is_the_apps():
    proof = ScreenshotProofFactory(download__app=AppFactory(points_reward=100))
    approve_proof(proof=proof, moderator=moderator())
    assert RewardEntry.objects.get(kind=RewardEntry.Kind.EARN).amount == 100


def test_an_ended_plan_gives_no_multiplier_even_before_the_expiry_job_runs():
    proof = ScreenshotProofFactory(download__app=AppFactory(points_reward=100))
    member = proof.download.user
    post_entry(user=member, amount=100, kind=RewardEntry.Kind.ADJUST, reason="seed")
    plan = PlanFactory(price=100, duration_days=1, points_multiplier=Decimal("2"))
    plans.subscribe(member=member, plan=plan, now=timezone.now() - timedelta(days=2))
    approve_proof(proof=proof, moderator=moderator())
    assert RewardEntry.objects.get(kind=RewardEntry.Kind.EARN).amount == 100


def test_member_only_campaigns_are_open_only_to_members_of_a_plan_with_that_perk():
    campaign = CampaignFactory(audience=Campaign.Audience.MEMBERS)
    member, outsider, other_plan = member_with(200), member_with(200), member_with(200)
    plans.subscribe(member=member, plan=PlanFactory(member_campaigns=True))
    plans.subscribe(member=other_plan, plan=PlanFactory(member_campaigns=False))
    assert [c.pk for c in growth_campaigns.available_campaigns(member, Decimal("50"))] == [campaign.pk]
    assert growth_campaigns.available_campaigns(outsider, Decimal("50")) == []
    assert growth_campaigns.available_campaigns(other_plan, Decimal("50")) == []
    assert growth_campaigns.eligible_users_preview(campaign)["sample"] == [member]
    redeem(member, campaign)
    with pytest.raises(growth_campaigns.RedemptionRefused) as refused:
        redeem(outsider, campaign)
    assert refused.value.code == "user_not_eligible"


def redeem(user, campaign):
    return growth_campaigns.redeem_campaign(
        user=user,
        campaign=campaign,
        cart_total=Decimal("50"),
        cart_reference="order-1",
        expected_points_cost=campaign.points_cost,
        idempotency_key="k",
    )


def test_plans_appear_on_the_home_page_and_a_member_subscribes_there(client):
    PlanFactory(name="Gold", price=100)
    assert "Gold" in client.get(reverse("home")).text
    member = member_with(150)
    client.force_login(member)
    plan = PlanFactory(name="Silver", price=50)
    response = client.post(reverse("subscribe-plan", args=[plan.pk]), follow=True)
    assert "You are on Silver until" in response.text
    assert 'id="current-plan"' in response.text


def test_a_refused_subscription_says_why(client):
    client.force_login(member_with(10))
    plan = PlanFactory(price=100)
    response = client.post(reverse("subscribe-plan", args=[plan.pk]), follow=True)
    assert "costs 100 points" in response.text and Subscription.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_subscriptions_of_one_member_pay_once(on_postgres):
    member, plan = member_with(1000), PlanFactory(price=100)
    results, errors = run_in_threads(10, lambda n: plans.subscribe(member=member, plan=plan))
    assert len(results) == 1 and {e.code for e in errors} == {"already_subscribed"}
    member.refresh_from_db()
    assert member.points_balance == 900


def test_without_a_multiplying_plan_an_approval_reads_no_subscription(django_assert_num_queries):
    member = member_with(200)
    PlanFactory(points_multiplier=Decimal("1.00"))
    assert plans.running_multiplier(member) is None  # caches the (empty) multipliers
    with django_assert_num_queries(0):
        assert plans.running_multiplier(member) is None


def test_with_multiplying_plans_the_running_multiplier_is_one_query(django_assert_num_queries):
    member = member_with(200)
    plans.subscribe(member=member, plan=PlanFactory(price=100, points_multiplier=Decimal("1.5")))
    assert plans.running_multiplier(member) == Decimal("1.5")
    with django_assert_num_queries(1):
        assert plans.running_multiplier(member) == Decimal("1.5")


def test_a_new_multiplying_plan_counts_from_the_next_approval(django_capture_on_commit_callbacks):
    member = member_with(200)
    assert plans.running_multiplier(member) is None  # cached: no plan multiplies
    with django_capture_on_commit_callbacks(execute=True):
        plan = PlanFactory(price=100, points_multiplier=Decimal("2"))
    plans.subscribe(member=member, plan=plan)
    assert plans.running_multiplier(member) == Decimal("2")


def test_changing_a_plans_multiplier_counts_from_the_next_approval(django_capture_on_commit_callbacks):
    member, plan = member_with(200), PlanFactory(price=100, points_multiplier=Decimal("2"))
    plans.subscribe(member=member, plan=plan)
    assert plans.running_multiplier(member) == Decimal("2")
    with django_capture_on_commit_callbacks(execute=True):
        plan.points_multiplier = Decimal("3")
        plan.save()
    assert plans.running_multiplier(member) == Decimal("3")
    with django_capture_on_commit_callbacks(execute=True):
        plan.points_multiplier = Decimal("1")
        plan.save()
    assert plans.running_multiplier(member) is None


def test_an_expired_subscription_stops_multiplying(django_capture_on_commit_callbacks):
    member = member_with(200)
    subscription = plans.subscribe(member=member, plan=PlanFactory(price=100, points_multiplier=Decimal("2")))
    assert plans.running_multiplier(member) == Decimal("2")
    assert plans.running_multiplier(member, now=subscription.ends_at) is None
    assert plans.expire_subscriptions(now=subscription.ends_at) == 1
    assert plans.running_multiplier(member, now=subscription.starts_at) is None
