from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from backoffice.testing.concurrency import run_in_threads
from backoffice.tests.factories import UserFactory
from catalog.tests.factories import AppFactory
from growth.campaigns import RedemptionRefused, available_campaigns, eligible_users_preview
from growth.models import Campaign, Redemption
from growth.tests.factories import CampaignFactory, force_counters, redeem
from moderation.ledger import post_entry
from moderation.models import RewardEntry

pytestmark = pytest.mark.django_db


def give_points(user, amount):
    post_entry(user=user, amount=amount, kind=RewardEntry.Kind.ADJUST, reason="test")


def test_a_percent_discount_is_taken_off_the_cart():
    result = redeem(UserFactory(verified=True), CampaignFactory(discount_value=Decimal("15")), cart_total="80.00")
    assert result.created
    assert result.redemption.discount_amount == Decimal("12.00")


def test_a_fixed_discount_never_exceeds_the_cart():
    campaign = CampaignFactory(discount_kind=Campaign.DiscountKind.FIXED, discount_value=Decimal("25"))
    redemption = redeem(UserFactory(verified=True), campaign, cart_total="10").redemption
    assert redemption.discount_amount == Decimal("10.00")


def test_redeeming_moves_the_campaign_counters():
    campaign = CampaignFactory(discount_value=Decimal("10"), budget=Decimal("100"))
    redeem(UserFactory(verified=True), campaign, cart_total="50")
    campaign.refresh_from_db()
    assert (campaign.uses_count, campaign.budget_spent) == (1, Decimal("5.00"))


def test_the_points_cost_is_debited_through_the_ledger():
    user = UserFactory(verified=True)
    give_points(user, 80)
    redemption = redeem(user, CampaignFactory(points_cost=50)).redemption
    user.refresh_from_db()
    assert user.points_balance == 30
    assert RewardEntry.objects.get(kind=RewardEntry.Kind.REDEEM).source == redemption


def test_too_few_points_is_refused_and_changes_nothing():
    user, campaign = UserFactory(verified=True), CampaignFactory(points_cost=50)
    with pytest.raises(RedemptionRefused) as refused:
        redeem(user, campaign)
    campaign.refresh_from_db()
    assert refused.value.code == "insufficient_points"
    assert (campaign.uses_count, Redemption.objects.count()) == (0, 0)


@pytest.mark.parametrize(
    ("campaign_kwargs", "code"),
    [
        (
            {"ends_at": timezone.now() - timedelta(days=1), "starts_at": timezone.now() - timedelta(days=9)},
            "campaign_expired",
        ),
        ({"starts_at": timezone.now() + timedelta(days=1)}, "campaign_not_started"),
        ({"active": False}, "campaign_inactive"),
        ({"min_cart_total": Decimal("150")}, "cart_below_minimum"),
        ({"audience": Campaign.Audience.MIN_POINTS, "min_points": 10}, "user_not_eligible"),
    ],
)
def test_an_ineligible_redemption_is_refused_and_changes_nothing(campaign_kwargs, code):
    campaign = CampaignFactory(**campaign_kwargs)
    with pytest.raises(RedemptionRefused) as refused:
        redeem(UserFactory(verified=True), campaign, cart_total="100")
    campaign.refresh_from_db()
    assert refused.value.code == code
    assert (campaign.uses_count, campaign.budget_spent, Redemption.objects.count()) == (0, 0, 0)


def test_a_campaign_for_other_apps_is_refused():
    campaign = CampaignFactory()
    campaign.eligible_apps.add(AppFactory())
    with pytest.raises(RedemptionRefused) as refused:
        redeem(UserFactory(verified=True), campaign, app=AppFactory())
    assert refused.value.code == "app_not_eligible"


def test_a_campaign_for_a_category_applies_to_its_apps():
    app = AppFactory()
    campaign = CampaignFactory()
    campaign.eligible_categories.add(app.category)
    result = redeem(UserFactory(verified=True), campaign, app=app)
    _, created = result.redemption, result.created
    assert created


def test_the_same_idempotency_key_twice_returns_the_same_redemption_and_redeems_once():
    user, campaign = UserFactory(verified=True), CampaignFactory(per_user_limit=5)
    result = redeem(user, campaign, key="same")
    first, created_first = result.redemption, result.created
    result = redeem(user, campaign, key="same")
    second, created_second = result.redemption, result.created
    campaign.refresh_from_db()
    assert (second.pk, created_first, created_second) == (first.pk, True, False)
    assert campaign.uses_count == 1


def test_an_idempotency_key_reused_for_another_request_is_refused():
    user = UserFactory(verified=True)
    redeem(user, CampaignFactory(), key="same")
    with pytest.raises(RedemptionRefused) as refused:
        redeem(user, CampaignFactory(), key="same")
    assert refused.value.code == "idempotency_key_reused"


def test_the_per_user_limit_holds():
    user, campaign = UserFactory(verified=True), CampaignFactory(per_user_limit=2)
    redeem(user, campaign)
    redeem(user, campaign)
    with pytest.raises(RedemptionRefused) as refused:
        redeem(user, campaign)
    assert refused.value.code == "per_user_limit_reached"


def test_the_budget_is_never_exceeded():
    campaign = CampaignFactory(discount_kind="fixed", discount_value=Decimal("30"), budget=Decimal("50"))
    redeem(UserFactory(verified=True), campaign)
    with pytest.raises(RedemptionRefused) as refused:
        redeem(UserFactory(verified=True), campaign)
    campaign.refresh_from_db()
    assert refused.value.code == "budget_exhausted"
    assert campaign.budget_spent == Decimal("30.00")


def test_available_campaigns_lists_only_what_the_user_can_redeem():
    user, app = UserFactory(verified=True), AppFactory()
    fits = CampaignFactory(name="fits")
    CampaignFactory(name="min cart", min_cart_total=Decimal("500"))
    CampaignFactory(
        name="expired", starts_at=timezone.now() - timedelta(days=9), ends_at=timezone.now() - timedelta(days=1)
    )
    force_counters(CampaignFactory(name="used up", max_uses=1, per_user_limit=1), uses_count=1)
    other_app = CampaignFactory(name="other app")
    other_app.eligible_apps.add(AppFactory())
    for_this_app = CampaignFactory(name="this app")
    for_this_app.eligible_apps.add(app)
    already = CampaignFactory(name="already used")
    redeem(user, already)
    assert {c.name for c in available_campaigns(user, Decimal("100"), app)} == {fits.name, for_this_app.name}


def test_the_eligible_users_preview_counts_the_audience():
    UserFactory(verified=True), UserFactory(verified=True)
    rich = UserFactory(verified=True)
    give_points(rich, 200)
    campaign = CampaignFactory(audience=Campaign.Audience.MIN_POINTS, min_points=100)
    preview = eligible_users_preview(campaign)
    assert (preview["count"], preview["sample"]) == (1, [rich])


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_redeems_of_the_last_use_succeed_exactly_once(on_postgres):
    campaign = CampaignFactory(max_uses=1)
    users = [UserFactory(verified=True) for _ in range(50)]
    results, errors = run_in_threads(50, lambda n: redeem(users[n], campaign, key=f"k{n}"))
    campaign.refresh_from_db()
    assert len(results) == 1
    assert len(errors) == 49 and all(getattr(e, "code", None) == "campaign_exhausted" for e in errors)
    assert (campaign.uses_count, Redemption.objects.count()) == (1, 1)


@pytest.mark.django_db(transaction=True)
def test_the_per_user_limit_holds_under_concurrent_requests_of_one_user(on_postgres):
    user, campaign = UserFactory(verified=True), CampaignFactory(per_user_limit=2, max_uses=100)
    results, errors = run_in_threads(20, lambda n: redeem(user, campaign, key=f"k{n}"))
    assert len(results) == 2
    assert all(getattr(e, "code", None) == "per_user_limit_reached" for e in errors)
    assert Redemption.objects.filter(user=user).count() == 2


@pytest.mark.django_db(transaction=True)
def test_one_idempotency_key_sent_concurrently_redeems_once(on_postgres):
    user, campaign = UserFactory(verified=True), CampaignFactory(per_user_limit=10)
    results, errors = run_in_threads(10, lambda n: redeem(user, campaign, key="same"))
    assert errors == []
    assert len({r.redemption.pk for r in results}) == 1
    assert sum(r.created for r in results) == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_redeems_never_overspend_the_budget(on_postgres):
    campaign = CampaignFactory(discount_kind="fixed", discount_value=Decimal("10"), budget=Decimal("55"))
    users = [UserFactory(verified=True) for _ in range(12)]
    results, _ = run_in_threads(12, lambda n: redeem(users[n], campaign, key=f"k{n}"))
    campaign.refresh_from_db()
    assert len(results) == 5
    assert campaign.budget_spent == Decimal("50.00")
