from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from backoffice.tests.factories import UserFactory
from catalog.tests.factories import AppFactory
from growth.models import Redemption
from growth.tests.factories import CampaignFactory, force_counters

pytestmark = pytest.mark.django_db


@pytest.fixture
def member():
    return UserFactory(verified=True)


@pytest.fixture
def api(member):
    client = APIClient()
    client.force_authenticate(member)
    return client


def redeem(api, campaign_id, body=None, key="key-1", **kwargs):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return api.post(
        f"/api/campaigns/{campaign_id}/redeem/",
        body if body is not None else {"cart_total": "100.00", "cart_reference": f"o-{key}", "expected_points_cost": 0},
        format="json",
        **headers,
        **kwargs,
    )


def assert_nothing_changed(campaign):
    campaign.refresh_from_db()
    assert (campaign.uses_count, campaign.budget_spent, Redemption.objects.count()) == (0, Decimal("0"), 0)


def test_available_lists_campaigns_with_the_discount_for_this_cart(api):
    CampaignFactory(name="Ten percent", discount_value=Decimal("10"))
    response = api.get("/api/campaigns/available/", {"cart_total": "80"})
    assert response.status_code == 200
    assert [(c["name"], c["discount"]) for c in response.json()] == [("Ten percent", "8.00")]


def test_available_filters_by_app(api):
    app = AppFactory()
    for_app = CampaignFactory(name="for app")
    for_app.eligible_apps.add(app)
    CampaignFactory(name="other").eligible_apps.add(AppFactory())
    response = api.get("/api/campaigns/available/", {"cart_total": "80", "app": app.pk})
    assert [c["name"] for c in response.json()] == ["for app"]


@pytest.mark.parametrize(
    "query", [{}, {"cart_total": "lots"}, {"cart_total": "-1"}, {"cart_total": "5", "app": 999999}]
)
def test_available_refuses_bad_queries_in_the_error_shape(api, query):
    response = api.get("/api/campaigns/available/", query)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_available_needs_a_login():
    response = APIClient().get("/api/campaigns/available/", {"cart_total": "5"})
    assert response.status_code in (401, 403)
    assert "error" in response.json()


def test_redeeming_answers_201_with_the_redemption(api):
    campaign = CampaignFactory(discount_value=Decimal("10"))
    response = redeem(api, campaign.pk)
    assert response.status_code == 201
    assert response.json()["discount_amount"] == "10.00"


def test_the_same_idempotency_key_twice_returns_the_same_result_and_redeems_once(api):
    campaign = CampaignFactory(per_user_limit=3)
    first, second = redeem(api, campaign.pk), redeem(api, campaign.pk)
    campaign.refresh_from_db()
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert campaign.uses_count == 1


def test_a_missing_idempotency_key_is_refused(api):
    campaign = CampaignFactory()
    response = redeem(api, campaign.pk, key=None)
    assert (response.status_code, response.json()["error"]["code"]) == (400, "idempotency_key_required")
    assert_nothing_changed(campaign)


def test_an_expired_campaign_is_refused_and_changes_nothing(api):
    campaign = CampaignFactory(starts_at=timezone.now() - timedelta(days=9), ends_at=timezone.now() - timedelta(days=1))
    response = redeem(api, campaign.pk)
    assert (response.status_code, response.json()["error"]["code"]) == (422, "campaign_expired")
    assert_nothing_changed(campaign)


def test_a_cart_below_the_minimum_is_refused_and_changes_nothing(api):
    campaign = CampaignFactory(min_cart_total=Decimal("200"))
    response = redeem(api, campaign.pk)
    body = response.json()["error"]
    assert (response.status_code, body["code"]) == (422, "cart_below_minimum")
    assert "200" in body["message"]
    assert_nothing_changed(campaign)


def test_a_non_existent_campaign_is_not_found(api):
    response = redeem(api, 999999)
    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")
    assert Redemption.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [{}, {"cart_total": "abc"}, {"cart_total": -5}, {"cart_total": "1e40"}, {"cart_total": "10", "app": "x"}],
)
def test_a_malformed_body_is_refused_and_changes_nothing(api, body):
    campaign = CampaignFactory()
    response = redeem(api, campaign.pk, body=body)
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid")
    assert_nothing_changed(campaign)


def test_a_body_that_is_not_json_is_refused(api):
    campaign = CampaignFactory()
    response = api.post(
        f"/api/campaigns/{campaign.pk}/redeem/", "{not json", content_type="application/json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert (response.status_code, response.json()["error"]["code"]) == (400, "parse_error")
    assert_nothing_changed(campaign)


def test_a_campaign_out_of_uses_is_refused_with_409(api):
    campaign = CampaignFactory(max_uses=1)
    force_counters(campaign, uses_count=1)
    response = redeem(api, campaign.pk)
    assert (response.status_code, response.json()["error"]["code"]) == (409, "campaign_exhausted")


def test_the_per_user_limit_is_refused_with_409(api):
    campaign = CampaignFactory(per_user_limit=1)
    redeem(api, campaign.pk, key="a")
    response = redeem(api, campaign.pk, key="b")
    assert (response.status_code, response.json()["error"]["code"]) == (409, "per_user_limit_reached")


def test_redeeming_is_throttled_per_user(api, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "100/minute", "redeem": "2/minute"},
    }
    from rest_framework.throttling import ScopedRateThrottle

    # The class attribute outlives the settings fixture: keep the real rates and put them back, not the
    # overridden ones the settings still hold inside this test.
    original_rates = ScopedRateThrottle.THROTTLE_RATES
    ScopedRateThrottle.THROTTLE_RATES = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    try:
        campaign = CampaignFactory(per_user_limit=5)
        codes = [redeem(api, campaign.pk, key=f"k{n}").status_code for n in range(3)]
    finally:
        ScopedRateThrottle.THROTTLE_RATES = original_rates
    assert codes == [201, 201, 429]


def test_redeeming_needs_a_login():
    campaign = CampaignFactory()
    response = APIClient().post(f"/api/campaigns/{campaign.pk}/redeem/", {"cart_total": "5"}, HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code in (401, 403)
    assert_nothing_changed(campaign)


def test_the_schema_documents_both_endpoints(client):
    schema = client.get("/api/schema/").content.decode()
    assert "/api/campaigns/available/" in schema and "/api/campaigns/{id}/redeem/" in schema


def test_available_campaigns_queries_do_not_grow_with_campaigns(api, django_assert_max_num_queries):
    for _ in range(15):
        CampaignFactory()
    with django_assert_max_num_queries(3):
        response = api.get("/api/campaigns/available/", {"cart_total": "80"})
    assert len(response.json()) == 15
