"""A campaign applied to an app purchase: the redemption's cart is the purchase, the discount lowers the price paid,
the campaign's rules hold, and a refund voids the discount (use, budget and points back, audited)."""

from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from backoffice.testing.concurrency import run_in_threads
from backoffice.tests.factories import admin, marketer
from catalog.tests.factories import AppFactory
from commerce.errors import PurchaseRefused
from commerce.models import Purchase
from commerce.purchases import buy_app, refund_purchase
from commerce.tests.factories import member_with, next_key
from growth.campaigns import RedemptionRefused, purchase_offers, void_redemption
from growth.models import Campaign, Redemption
from growth.tests.factories import CampaignFactory, redeem
from moderation.models import RewardEntry

pytestmark = pytest.mark.django_db


def buy(member, app, campaign, expected_price, key=None, expected_points_cost=None):
    return buy_app(
        member=member,
        app=app,
        idempotency_key=key or next_key(),
        expected_price=expected_price,
        campaign=campaign,
        expected_points_cost=campaign.points_cost if expected_points_cost is None else expected_points_cost,
    )


def refused_code(call):
    with pytest.raises((PurchaseRefused, RedemptionRefused)) as refused:
        call()
    return refused.value.code


def counters(campaign):
    campaign.refresh_from_db()
    return campaign.uses_count, campaign.budget_spent


def nothing_written(member, balance):
    member.refresh_from_db()
    return (Purchase.objects.count(), Redemption.objects.count(), member.points_balance) == (0, 0, balance)


def test_the_discount_lowers_the_price_paid_through_the_ledger():
    member, app = member_with(100), AppFactory(credit_price=40)
    campaign = CampaignFactory(discount_value=Decimal("25"))
    result = buy(member, app, campaign, expected_price=30)
    purchase, created = result.purchase, result.created
    member.refresh_from_db()
    assert created and purchase.price_paid == 30 and member.points_balance == 70
    assert RewardEntry.objects.get(kind=RewardEntry.Kind.PURCHASE).amount == -30


def test_the_redemption_records_the_purchase_it_discounted():
    member, app = member_with(100), AppFactory(credit_price=40)
    purchase = buy(member, app, CampaignFactory(discount_value=Decimal("25")), expected_price=30).purchase
    redemption = Redemption.objects.get()
    assert purchase.redemption == redemption
    assert (redemption.cart_reference, redemption.cart_total, redemption.discount_amount, redemption.app) == (
        f"purchase:{purchase.pk}",
        Decimal("40.00"),
        Decimal("10.00"),
        app,
    )


def test_the_campaign_counters_move_by_the_discount():
    campaign = CampaignFactory(discount_value=Decimal("25"), budget=Decimal("100"))
    buy(member_with(100), AppFactory(credit_price=40), campaign, expected_price=30)
    assert counters(campaign) == (1, Decimal("10.00"))


def test_a_discount_is_whole_credits_rounded_down():
    campaign = CampaignFactory(discount_value=Decimal("15"))  # 15 % of 30 = 4.50: 4 credits off
    purchase = buy(member_with(100), AppFactory(credit_price=30), campaign, expected_price=26).purchase
    assert (purchase.price_paid, purchase.redemption.discount_amount) == (26, Decimal("4.00"))


def test_a_fixed_discount_never_exceeds_the_price():
    campaign = CampaignFactory(discount_kind=Campaign.DiscountKind.FIXED, discount_value=Decimal("50"))
    member = member_with(100)
    purchase = buy(member, AppFactory(credit_price=20), campaign, expected_price=0).purchase
    member.refresh_from_db()
    assert (purchase.price_paid, purchase.redemption.discount_amount, member.points_balance) == (0, Decimal(20), 100)


def test_a_discount_under_one_credit_is_refused_and_writes_nothing():
    member = member_with(100)
    campaign = CampaignFactory(discount_value=Decimal("10"))  # 10 % of 5 = 0.50
    assert refused_code(lambda: buy(member, AppFactory(credit_price=5), campaign, 5)) == "discount_below_one_credit"
    assert nothing_written(member, 100)


def test_the_undiscounted_price_as_expected_price_is_refused_and_writes_nothing():
    member, app = member_with(100), AppFactory(credit_price=40)
    campaign = CampaignFactory(discount_value=Decimal("25"))
    with pytest.raises(PurchaseRefused) as refused:
        buy(member, app, campaign, expected_price=40)
    assert (refused.value.code, refused.value.details) == ("price_changed", {"price": 30})
    assert nothing_written(member, 100)


def test_a_points_cost_not_shown_is_refused_and_writes_nothing():
    member, app = member_with(100), AppFactory(credit_price=40)
    campaign = CampaignFactory(discount_value=Decimal("25"), points_cost=5)
    code = refused_code(lambda: buy(member, app, campaign, expected_price=30, expected_points_cost=0))
    assert code == "points_cost_changed"
    assert nothing_written(member, 100)


def test_the_points_cost_is_charged_beside_the_price():
    member, app = member_with(100), AppFactory(credit_price=40)
    buy(member, app, CampaignFactory(discount_value=Decimal("25"), points_cost=5), expected_price=30)
    member.refresh_from_db()
    assert member.points_balance == 65
    assert RewardEntry.objects.get(kind=RewardEntry.Kind.REDEEM).amount == -5


def test_the_balance_must_cover_the_price_and_the_points_cost():
    member, app = member_with(32), AppFactory(credit_price=40)
    campaign = CampaignFactory(discount_value=Decimal("25"), points_cost=5)
    assert refused_code(lambda: buy(member, app, campaign, expected_price=30)) == "insufficient_points"
    assert nothing_written(member, 32)


@pytest.mark.parametrize(
    ("campaign_kwargs", "code"),
    [({"max_uses": 1}, "campaign_exhausted"), ({"budget": Decimal("12")}, "budget_exhausted")],
)
def test_a_spent_campaign_refuses_the_next_purchase(campaign_kwargs, code):
    campaign = CampaignFactory(discount_value=Decimal("25"), **campaign_kwargs)
    buy(member_with(100), AppFactory(credit_price=40), campaign, expected_price=30)  # the first one fits
    member = member_with(100)
    assert refused_code(lambda: buy(member, AppFactory(credit_price=40), campaign, expected_price=30)) == code
    assert Purchase.objects.filter(member=member).count() == 0


@pytest.mark.parametrize(
    ("campaign_kwargs", "code"),
    [({"active": False}, "campaign_inactive"), ({"min_cart_total": Decimal("50")}, "cart_below_minimum")],
)
def test_an_ineligible_campaign_refuses_the_purchase_and_writes_nothing(campaign_kwargs, code):
    member, campaign = member_with(100), CampaignFactory(discount_value=Decimal("25"), **campaign_kwargs)
    assert refused_code(lambda: buy(member, AppFactory(credit_price=40), campaign, expected_price=30)) == code
    assert nothing_written(member, 100)


def test_the_per_user_limit_counts_purchases():
    member, campaign = member_with(100), CampaignFactory(discount_value=Decimal("25"))
    buy(member, AppFactory(credit_price=40), campaign, expected_price=30)
    assert refused_code(lambda: buy(member, AppFactory(credit_price=40), campaign, 30)) == "per_user_limit_reached"


def test_a_campaign_for_other_apps_is_refused():
    campaign = CampaignFactory(discount_value=Decimal("25"))
    campaign.eligible_apps.set([AppFactory()])
    member = member_with(100)
    assert refused_code(lambda: buy(member, AppFactory(credit_price=40), campaign, 30)) == "app_not_eligible"


def test_a_replay_returns_the_discounted_purchase_without_charging_again():
    member, app, campaign = member_with(100), AppFactory(credit_price=40), CampaignFactory(discount_value=25)
    first = buy(member, app, campaign, expected_price=30, key="k").purchase
    result = buy(member, app, campaign, expected_price=30, key="k")
    again, created = result.purchase, result.created
    member.refresh_from_db()
    assert (again.pk, created, member.points_balance, counters(campaign)[0]) == (first.pk, False, 70, 1)


def test_a_replay_without_the_campaign_is_another_request():
    member, app, campaign = member_with(100), AppFactory(credit_price=40), CampaignFactory(discount_value=25)
    buy(member, app, campaign, expected_price=30, key="k")
    code = refused_code(lambda: buy_app(member=member, app=app, idempotency_key="k", expected_price=30))
    assert code == "idempotency_key_reused"


def test_refunding_voids_the_discount_and_gives_back_use_budget_and_points():
    member, app = member_with(100), AppFactory(credit_price=40)
    campaign = CampaignFactory(discount_value=Decimal("25"), points_cost=5, budget=Decimal("100"))
    purchase = buy(member, app, campaign, expected_price=30).purchase
    refund_purchase(purchase=purchase, actor=admin(), reason="wrong app")
    member.refresh_from_db()
    redemption = Redemption.objects.get()
    assert member.points_balance == 100
    assert counters(campaign) == (0, Decimal("0.00"))
    assert redemption.voided and redemption.void_reason == "wrong app"
    assert RewardEntry.objects.get(kind=RewardEntry.Kind.VOID).amount == 5
    assert redemption.history.first().history_change_reason == "Voided: wrong app"


def test_a_refunded_discount_frees_the_per_user_limit():
    member, app, campaign = member_with(100), AppFactory(credit_price=40), CampaignFactory(discount_value=25)
    purchase = buy(member, app, campaign, expected_price=30).purchase
    refund_purchase(purchase=purchase, actor=admin(), reason="wrong app")
    result = buy(member, app, campaign, expected_price=30)
    again, created = result.purchase, result.created
    assert created and again.price_paid == 30


def test_a_purchase_discount_is_voided_only_by_refunding_the_purchase():
    member, app, campaign = member_with(100), AppFactory(credit_price=40), CampaignFactory(discount_value=25)
    purchase = buy(member, app, campaign, expected_price=30).purchase
    with pytest.raises(RedemptionRefused) as refused:
        void_redemption(purchase.redemption, actor=marketer(), reason="nope")
    assert refused.value.code == "applied_to_purchase"
    assert counters(campaign)[0] == 1


def test_the_redeem_path_refuses_a_purchase_cart():
    member, campaign = member_with(100), CampaignFactory()
    with pytest.raises(RedemptionRefused) as refused:
        redeem(member, campaign, cart_total="40", cart_reference="purchase:1")
    assert refused.value.code == "invalid"


def test_a_free_app_has_nothing_to_discount():
    member = member_with(100)
    assert refused_code(lambda: buy(member, AppFactory(credit_price=0), CampaignFactory(), 0)) == "nothing_to_discount"


def test_offers_list_eligible_campaigns_with_the_price_after_discount():
    member, app = member_with(100), AppFactory(credit_price=40)
    big, small = CampaignFactory(discount_value=Decimal("50")), CampaignFactory(discount_value=Decimal("25"))
    CampaignFactory(discount_value=Decimal("1"))  # 0.40 off: less than a credit, not offered
    CampaignFactory(discount_value=Decimal("25"), active=False)
    offers = purchase_offers(member, app)
    assert [(o.campaign, o.discount, o.price) for o in offers] == [(big, 20, 20), (small, 10, 30)]


# --- public pages and API ------------------------------------------------------------------------------------


def test_the_confirmation_page_offers_the_members_campaigns_with_the_price_after_discount(client):
    member, app = member_with(100), AppFactory(credit_price=40)
    CampaignFactory(name="Spring sale", discount_value=Decimal("25"))
    client.force_login(member)
    response = client.get(reverse("buy-app", args=[app.slug]))
    assert "Spring sale" in response.text and 'class="offer-price">30 credits' in response.text
    assert "Pay 30 credits" in response.text and "Pay 40 credits" in response.text


def test_paying_with_a_campaign_on_the_page_buys_at_the_discounted_price(client):
    member, app = member_with(100), AppFactory(credit_price=40)
    campaign = CampaignFactory(discount_value=Decimal("25"))
    client.force_login(member)
    form = {"idempotency_key": "abc", "expected_price": "30", "campaign": campaign.pk, "expected_points_cost": "0"}
    response = client.post(reverse("buy-app-confirm", args=[app.slug]), form)
    assert response.status_code == 302 and response.url == reverse("my-apps")
    assert Purchase.objects.get().price_paid == 30


def test_a_refused_discount_on_the_page_says_why_and_writes_nothing(client):
    member, app = member_with(100), AppFactory(credit_price=40)
    campaign = CampaignFactory(discount_value=Decimal("25"), points_cost=3)
    client.force_login(member)
    form = {"idempotency_key": "abc", "expected_price": "30", "campaign": campaign.pk, "expected_points_cost": "0"}
    response = client.post(reverse("buy-app-confirm", args=[app.slug]), form, follow=True)
    assert "now costs 3 points" in response.text
    assert Purchase.objects.count() == 0


def test_the_api_buys_with_a_campaign_at_the_discounted_price():
    member, app = member_with(100), AppFactory(credit_price=40)
    campaign = CampaignFactory(discount_value=Decimal("25"))
    api = APIClient()
    api.force_authenticate(member)
    body = {"campaign": campaign.pk, "expected_price": 30}
    response = api.post(f"/api/apps/{app.slug}/purchase/", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert response.status_code == 201, response.content
    assert (response.json()["price_paid"], response.json()["campaign"], response.json()["discount"]) == (
        30,
        campaign.pk,
        "10.00",
    )


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"campaign": 999999, "expected_price": 30}, 400, "invalid"),
        ({"campaign": "x", "expected_price": 30}, 400, "invalid"),
        ({"campaign": "CAMPAIGN", "expected_price": 40}, 409, "price_changed"),
        ({"campaign": "CAMPAIGN", "expected_price": 30, "expected_points_cost": -1}, 400, "invalid"),
    ],
)
def test_the_api_refuses_bad_discount_requests_clearly_and_writes_nothing(body, status, code):
    member, app = member_with(100), AppFactory(credit_price=40)
    campaign = CampaignFactory(discount_value=Decimal("25"))
    body = {k: campaign.pk if v == "CAMPAIGN" else v for k, v in body.items()}
    api = APIClient()
    api.force_authenticate(member)
    response = api.post(f"/api/apps/{app.slug}/purchase/", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    assert Purchase.objects.count() == 0


# --- concurrency (PostgreSQL) ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_discounted_purchases_never_oversell_nor_double_charge(on_postgres):
    campaign = CampaignFactory(discount_value=Decimal("25"), max_uses=5, budget=Decimal("50"))
    app = AppFactory(credit_price=40)
    members = [member_with(100) for _ in range(12)]

    def attempt(n):
        # Two requests per member (different keys) race each other, and every member races the others.
        return buy(members[n // 2], app, campaign, expected_price=30, key=f"k{n}")

    results, errors = run_in_threads(24, attempt)
    assert {e.code for e in errors} <= {"campaign_exhausted", "budget_exhausted", "already_purchased"}
    purchases = list(Purchase.objects.all())
    assert len(purchases) == len(results) == 5
    assert counters(campaign) == (5, Decimal("50.00"))
    assert Redemption.objects.filter(voided_at__isnull=True).count() == 5
    for member in members:
        member.refresh_from_db()
        paid = sum(p.price_paid for p in purchases if p.member_id == member.pk)
        assert paid in (0, 30) and member.points_balance == 100 - paid
