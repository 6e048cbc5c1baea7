"""Hostile input gets a clear 4xx, never a 500 (issue 13's list), on SQLite and PostgreSQL."""

import json

import pytest
from django.test import Client

from backoffice.tests.factories import UserFactory, admin
from catalog.models import Product
from catalog.tests.factories import AppFactory, ProductFactory
from growth.models import Redemption
from growth.tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def member_client():
    client = Client(raise_request_exception=False)
    client.force_login(UserFactory(verified=True, points_balance=0))
    return client


def redeem_api(client, campaign, body, key="key-1", content_type="application/json"):
    return client.post(
        f"/api/campaigns/{campaign.pk}/redeem/", body, content_type=content_type, HTTP_IDEMPOTENCY_KEY=key
    )


def test_a_nul_in_a_referral_code_path_is_not_a_server_error():
    response = Client(raise_request_exception=False).get("/r/%00abc/")
    assert response.status_code == 302


def test_a_nul_in_a_form_field_is_a_400(member_client):
    campaign = CampaignFactory()
    response = member_client.post(
        f"/discounts/{campaign.pk}/redeem/", {"idempotency_key": "a\x00b", "cart_total": "10"}
    )
    assert response.status_code == 400
    assert not Redemption.objects.exists()


def test_deeply_nested_json_is_a_parse_error_in_the_api_shape(member_client):
    response = redeem_api(member_client, CampaignFactory(), "[" * 100_000 + "]" * 100_000)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_an_oversized_api_body_gets_the_api_error_shape(member_client):
    body = json.dumps({"cart_total": "10", "padding": "a" * (11 * 1024 * 1024)})
    response = redeem_api(member_client, CampaignFactory(), body)
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize("app_value", [1.5, True, "1e0", " 1", [1]])
def test_an_app_id_that_is_not_a_whole_number_is_refused(member_client, app_value):
    app = AppFactory()
    value = app.pk + 0.5 if app_value == 1.5 else app_value
    response = redeem_api(member_client, CampaignFactory(), json.dumps({"cart_total": "10", "app": value}))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert not Redemption.objects.exists()


def test_an_app_id_as_a_whole_number_still_works_in_the_query(member_client):
    app = AppFactory()
    assert member_client.get("/api/campaigns/available/", {"cart_total": "10", "app": str(app.pk)}).status_code == 200


def test_the_history_page_of_a_product_without_field_history_answers():
    client = Client(raise_request_exception=False)
    client.force_login(admin())
    product = ProductFactory()
    Product.history.filter(id=product.pk).delete()
    response = client.get(f"/admin/products/history/{product.pk}/")
    assert response.status_code == 200


def test_taggits_merge_view_is_gone_for_everyone():
    from taggit.models import Tag

    client = Client(raise_request_exception=False)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = client.post("/django-admin/taggit/tag/merge-tags/", {"new_tag_name": "merged"})
    assert response.status_code == 404
    assert not Tag.objects.exists()
