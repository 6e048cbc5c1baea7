"""One Idempotency-Key rule for every endpoint that takes one: same codes, same error shape, nothing written."""

import pytest
from rest_framework.test import APIClient

from backoffice.idempotency import IdempotencyKeyRefused, clean_idempotency_key
from catalog.tests.factories import AppFactory
from commerce.models import Purchase
from commerce.tests.factories import member_with
from growth.models import Redemption
from growth.tests.factories import CampaignFactory
from moderation.models import RewardEntry

pytestmark = pytest.mark.django_db

BAD_KEYS = [
    pytest.param(None, "idempotency_key_required", id="missing"),
    pytest.param("   ", "idempotency_key_required", id="blank"),
    pytest.param("k" * 65, "idempotency_key_invalid", id="oversize"),
    pytest.param("key\x01one", "idempotency_key_invalid", id="control-character"),
    pytest.param("clé-1", "idempotency_key_invalid", id="non-ascii"),
]


def purchase_request(client, key):
    app = AppFactory(credit_price=10)
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return client.post(f"/api/apps/{app.slug}/purchase/", {}, format="json", **headers)


def redeem_request(client, key):
    campaign = CampaignFactory()
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    body = {"cart_total": "100.00", "cart_reference": "order-1", "expected_points_cost": 0}
    return client.post(f"/api/campaigns/{campaign.pk}/redeem/", body, format="json", **headers)


ENDPOINTS = [pytest.param(purchase_request, id="purchase"), pytest.param(redeem_request, id="redeem")]


@pytest.fixture
def client():
    api = APIClient()
    api.force_authenticate(member_with(100))
    return api


@pytest.mark.parametrize("send", ENDPOINTS)
@pytest.mark.parametrize(("key", "code"), BAD_KEYS)
def test_a_bad_idempotency_key_is_a_400_in_the_one_shape_and_writes_nothing(client, send, key, code):
    entries = RewardEntry.objects.count()
    response = send(client, key)
    assert response.status_code == 400
    assert set(response.json()) == {"error"}
    assert response.json()["error"]["code"] == code
    assert set(response.json()["error"]) == {"code", "message", "details"}
    assert (Purchase.objects.count(), Redemption.objects.count(), RewardEntry.objects.count()) == (0, 0, entries)


@pytest.mark.parametrize("send", ENDPOINTS)
def test_a_key_of_64_printable_characters_with_spaces_around_is_accepted(client, send):
    assert send(client, "  " + "k" * 64 + "  ").status_code == 201


def test_the_rule_strips_the_key_and_raises_the_callers_refusal():
    class Refused(IdempotencyKeyRefused):
        pass

    assert clean_idempotency_key(" abc ") == "abc"
    with pytest.raises(Refused) as refused:
        clean_idempotency_key("", refusal=Refused)
    assert refused.value.code == "idempotency_key_required"
