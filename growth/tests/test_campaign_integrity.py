"""Issue 12's campaign reproductions: stacking, carts, the shown cost, vouchers and voids, form saves racing."""

import threading
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.test import Client

from backoffice.testing.concurrency import run_in_threads, wait_until_a_session_waits_for_a_lock
from backoffice.testing.forms import form_data
from backoffice.tests.factories import UserFactory, admin, marketer, moderator
from catalog.tests.factories import AppFactory
from growth.campaigns import RedemptionRefused, available_campaigns, void_redemption
from growth.models import Campaign, Redemption
from growth.tests.factories import CampaignFactory, redeem
from moderation.ledger import post_entry
from moderation.models import RewardEntry

pytestmark = pytest.mark.django_db


def member(points=0):
    user = UserFactory(verified=True)
    if points:
        post_entry(user=user, amount=points, kind=RewardEntry.Kind.ADJUST, reason="test")
    return user


def refused_code(call):
    with pytest.raises(RedemptionRefused) as refused:
        call()
    return refused.value.code


def assert_campaign_counters_match_rows(campaign):
    campaign.refresh_from_db()
    live = Redemption.objects.filter(campaign=campaign, voided_at__isnull=True)
    spent = sum((r.discount_amount for r in live), Decimal(0))
    assert (campaign.uses_count, campaign.budget_spent) == (live.count(), spent)


# --- 3. discounts stack past the cart -----------------------------------------------------------------------------


def test_a_second_campaign_on_the_same_cart_is_refused_by_default():
    user = member()
    half, sixty = CampaignFactory(discount_value=Decimal("50")), CampaignFactory(discount_value=Decimal("60"))
    redeem(user, half, cart_total="100", cart_reference="order-1")
    assert refused_code(lambda: redeem(user, sixty, cart_total="100", cart_reference="order-1")) == "not_stackable"
    assert Redemption.objects.filter(cart_reference="order-1").count() == 1


def test_stackable_campaigns_combine_but_never_past_the_cart():
    user = member()
    half = CampaignFactory(discount_value=Decimal("50"), stackable=True)
    sixty = CampaignFactory(discount_value=Decimal("60"), stackable=True)
    redeem(user, half, cart_total="100", cart_reference="order-1")
    second = redeem(user, sixty, cart_total="100", cart_reference="order-1").redemption
    assert second.discount_amount == Decimal("50.00")
    total = sum(r.discount_amount for r in Redemption.objects.filter(cart_reference="order-1"))
    assert total == Decimal("100.00")
    third = CampaignFactory(discount_value=Decimal("5"), stackable=True)
    assert refused_code(lambda: redeem(user, third, cart_total="100", cart_reference="order-1")) == (
        "cart_fully_discounted"
    )


def test_a_stackable_campaign_does_not_join_a_non_stacking_one():
    user = member()
    redeem(user, CampaignFactory(), cart_total="100", cart_reference="order-1")
    stackable = CampaignFactory(stackable=True)
    assert refused_code(lambda: redeem(user, stackable, cart_total="100", cart_reference="order-1")) == (
        "not_stackable"
    )


def test_one_cart_keeps_one_total():
    user = member()
    redeem(user, CampaignFactory(stackable=True), cart_total="100", cart_reference="order-1")
    other = CampaignFactory(stackable=True)
    assert refused_code(lambda: redeem(user, other, cart_total="900", cart_reference="order-1")) == (
        "cart_total_mismatch"
    )


# --- 4. the cart is whatever the client says ----------------------------------------------------------------------


def test_a_huge_declared_cart_is_discounted_as_the_campaigns_largest_cart():
    campaign = CampaignFactory(discount_value=Decimal("50"), budget=Decimal("1000"), max_cart_total=Decimal("100"))
    redemption = redeem(member(), campaign, cart_total="5000").redemption
    assert redemption.discount_amount == Decimal("50.00")
    campaign.refresh_from_db()
    assert campaign.budget_spent == Decimal("50.00")


def test_an_app_we_price_is_its_own_cart_total():
    app = AppFactory(credit_price=40)
    redemption = redeem(member(), CampaignFactory(discount_value=Decimal("10")), app=app, cart_reference="").redemption
    assert (redemption.cart_total, redemption.discount_amount, redemption.cart_reference) == (
        Decimal("40.00"),
        Decimal("4.00"),
        f"app:{app.pk}",
    )
    assert refused_code(lambda: redeem(member(), CampaignFactory(), app=app, cart_total="5000")) == (
        "cart_total_mismatch"
    )


@pytest.mark.parametrize("cart_total", ["0", "-1"])
def test_an_empty_or_negative_cart_is_refused(cart_total):
    campaign = CampaignFactory(max_uses=5)
    assert refused_code(lambda: redeem(member(), campaign, cart_total=cart_total)) == "invalid"
    assert_campaign_counters_match_rows(campaign)


def test_an_unverified_account_cannot_redeem():
    campaign = CampaignFactory(max_uses=5)
    assert refused_code(lambda: redeem(UserFactory(), campaign)) == "phone_not_verified"
    assert Redemption.objects.count() == 0


def test_unverified_accounts_are_not_offered_campaigns(client):
    CampaignFactory(name="Ten off")
    member = UserFactory()
    assert available_campaigns(member, Decimal("50")) == []
    client.force_login(member)
    body = client.get("/discounts/").content.decode()
    assert 'id="verify-to-redeem"' in body and "Ten off" not in body


def test_a_declared_cart_needs_a_reference():
    assert refused_code(lambda: redeem(member(), CampaignFactory(), cart_reference="")) == "cart_reference_required"


# --- 5. the price changes under the member ------------------------------------------------------------------------


def test_a_changed_points_cost_is_refused_and_nothing_is_charged():
    user, campaign = member(points=100), CampaignFactory(points_cost=1)
    Campaign.objects.filter(pk=campaign.pk).update(points_cost=40)  # the marketer's edit lands after the page showed 1
    with pytest.raises(RedemptionRefused) as refused:
        redeem(user, campaign, expected_points_cost=1)
    assert (refused.value.code, refused.value.details) == ("points_cost_changed", {"points_cost": 40})
    user.refresh_from_db()
    assert (user.points_balance, Redemption.objects.count()) == (100, 0)


def test_the_shown_cost_is_charged():
    user, campaign = member(points=100), CampaignFactory(points_cost=30)
    redemption = redeem(user, campaign, expected_points_cost=30).redemption
    user.refresh_from_db()
    assert (user.points_balance, redemption.points_cost) == (70, 30)


# --- idempotency keys match the whole request ---------------------------------------------------------------------


def test_a_replayed_key_with_another_cart_is_refused():
    user, campaign = member(), CampaignFactory(per_user_limit=5)
    redeem(user, campaign, key="k", cart_reference="order-1")
    assert refused_code(lambda: redeem(user, campaign, key="k", cart_reference="order-2")) == "idempotency_key_reused"
    assert not redeem(user, campaign, key="k", cart_reference="order-1").created


# --- vouchers and voids -------------------------------------------------------------------------------------------


def test_a_redemption_has_a_voucher_code():
    first = redeem(member(), CampaignFactory()).redemption
    second = redeem(member(), CampaignFactory()).redemption
    assert len(first.voucher_code) == 10 and first.voucher_code != second.voucher_code


def test_voiding_gives_back_the_use_the_budget_and_the_points():
    user, campaign = member(points=50), CampaignFactory(points_cost=20, max_uses=1, budget=Decimal("100"))
    redemption = redeem(user, campaign).redemption
    staff = marketer()
    void_redemption(redemption, actor=staff, reason="Order cancelled")
    user.refresh_from_db()
    assert user.points_balance == 50
    entry = RewardEntry.objects.get(kind=RewardEntry.Kind.VOID)
    assert (entry.amount, entry.actor, entry.reason, entry.source) == (20, staff, "Order cancelled", redemption)
    assert_campaign_counters_match_rows(campaign)
    latest = redemption.history.latest()
    assert (latest.history_user, latest.void_reason) == (staff, "Order cancelled")
    again = redeem(user, campaign).redemption  # the use is free again, for anyone
    assert again.pk != redemption.pk


def test_a_redemption_is_voided_once():
    redemption = redeem(member(), CampaignFactory()).redemption
    void_redemption(redemption, actor=admin(), reason="test")
    assert refused_code(lambda: void_redemption(redemption, actor=admin(), reason="again")) == "already_voided"


def test_voiding_needs_the_permission_and_a_reason():
    redemption = redeem(member(), CampaignFactory()).redemption
    with pytest.raises(PermissionDenied):
        void_redemption(redemption, actor=moderator(), reason="no")
    with pytest.raises(ValidationError):
        void_redemption(redemption, actor=marketer(), reason="  ")
    redemption.refresh_from_db()
    assert not redemption.voided


def test_a_marketer_voids_from_the_redemption_page(client):
    redemption = redeem(member(), CampaignFactory()).redemption
    client.force_login(marketer())
    assert "Void this redemption" in client.get(f"/admin/redemptions/inspect/{redemption.pk}/").content.decode()
    client.post(f"/admin/redemptions/void/{redemption.pk}/", {"reason": "Refunded"})
    redemption.refresh_from_db()
    assert redemption.void_reason == "Refunded"


# --- the campaign service keeps the admin form's rules ------------------------------------------------------------


def test_the_largest_cart_cannot_be_below_the_minimum_cart(client):
    from growth.tests.test_admin import campaign_form

    client.force_login(marketer())
    response = client.post("/admin/campaigns/new/", campaign_form(min_cart_total="50", max_cart_total="10"))
    assert "max_cart_total" in response.context["form"].errors


# --- 1. a campaign form save racing a redemption (PostgreSQL, real threads) ---------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_campaign_form_save_racing_a_redemption_keeps_the_counters(on_postgres):
    campaign = CampaignFactory(name="Before", max_uses=1, discount_value=Decimal("10"), budget=Decimal("100"))
    buyer, staff = member(), marketer()
    redeemed = threading.Event()

    def redemption_holding_the_row():
        with transaction.atomic():
            redeem(buyer, campaign)
            redeemed.set()
            wait_until_a_session_waits_for_a_lock()

    def marketer_edits():
        client = Client()
        client.force_login(staff)
        data = form_data(client.get(f"/admin/campaigns/edit/{campaign.pk}/"))
        data.update(name="After", starts_at=campaign.starts_at.strftime("%Y-%m-%d %H:%M"))
        data["ends_at"] = campaign.ends_at.strftime("%Y-%m-%d %H:%M")
        redeemed.wait(10)
        client.post(f"/admin/campaigns/edit/{campaign.pk}/", data)

    _, errors = run_in_threads(2, lambda n: (redemption_holding_the_row, marketer_edits)[n]())
    assert errors == []
    campaign.refresh_from_db()
    assert (campaign.name, campaign.uses_count, campaign.budget_spent) == ("After", 1, Decimal("10.00"))
    assert_campaign_counters_match_rows(campaign)
    assert refused_code(lambda: redeem(member(), campaign)) == "campaign_exhausted"  # no oversell afterwards


@pytest.mark.django_db(transaction=True)
def test_concurrent_redeems_on_one_cart_stack_at_most_once(on_postgres):
    user = member()
    offers = [CampaignFactory(discount_value=Decimal("50")) for _ in range(6)]
    results, errors = run_in_threads(6, lambda n: redeem(user, offers[n], cart_total="100", cart_reference="cart"))
    assert len(results) == 1
    assert {e.code for e in errors} == {"not_stackable"}
