"""OAuth2 client credentials: scopes an Admin granted, expiry and revocation."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from oauth2_provider.models import AccessToken

from backoffice.tests.factories import admin, marketer
from integrations.clients import ClientRefused, create_client, revoke_client
from integrations.models import IntegrationClient
from integrations.tests.helpers import bearer, new_client, token_response

pytestmark = pytest.mark.django_db


def test_a_client_gets_a_token_with_its_scopes():
    client, secret = new_client(["apps:read", "purchases:read"])
    response = token_response(client.client_id, secret)
    assert response.status_code == 200
    assert set(response.json()["scope"].split()) == {"apps:read", "purchases:read"}


def test_a_client_may_ask_for_fewer_scopes():
    client, secret = new_client(["apps:read", "purchases:read"])
    assert token_response(client.client_id, secret, scope="apps:read").json()["scope"] == "apps:read"


@pytest.mark.parametrize("scope", ["admin", "users:email", "apps:read write"])
def test_an_unknown_or_ungranted_scope_is_refused(scope):
    client, secret = new_client(["apps:read"])
    response = token_response(client.client_id, secret, scope=scope)
    assert response.status_code == 400 and response.json()["error"] == "invalid_scope"
    assert not AccessToken.objects.exists()


def test_a_wrong_secret_is_refused():
    client, _ = new_client()
    response = token_response(client.client_id, "wrong")
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_an_expired_client_gets_no_token_and_its_tokens_stop_working():
    client, secret = new_client(expires_at=timezone.now() + timedelta(hours=1))
    token = token_response(client.client_id, secret).json()["access_token"]
    IntegrationClient.objects.filter(pk=client.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert token_response(client.client_id, secret).json()["error"] == "invalid_client"
    response = bearer(token).get("/api/v1/apps/")
    assert response.status_code == 401 and response.json()["error"]["code"] == "authentication_failed"


def test_a_revoked_client_gets_no_token_and_its_tokens_stop_working():
    client, secret = new_client()
    token = token_response(client.client_id, secret).json()["access_token"]
    revoke_client(client=client, actor=admin())
    assert token_response(client.client_id, secret).status_code == 401
    assert bearer(token).get("/api/v1/apps/").status_code == 401
    client.refresh_from_db()
    assert client.revoked_at is not None and client.application is None
    with pytest.raises(ClientRefused):
        revoke_client(client=client, actor=admin())


def test_an_expired_token_is_refused():
    client, secret = new_client()
    token = token_response(client.client_id, secret).json()["access_token"]
    AccessToken.objects.update(expires=timezone.now() - timedelta(seconds=1))
    assert bearer(token).get("/api/v1/apps/").status_code == 401


def test_unknown_scopes_cannot_be_granted():
    with pytest.raises(ClientRefused):
        create_client(name="x", scopes=["everything"], created_by=admin())


def test_the_secret_is_stored_hashed():
    client, secret = new_client()
    client.refresh_from_db()
    assert client.application.client_secret != secret


# --- admin -------------------------------------------------------------------------------------------------


def test_an_admin_creates_a_client_and_sees_the_secret_once(client):
    client.force_login(admin())
    response = client.post(reverse("integration_clients:add"), {"name": "Dashboard", "scopes": ["apps:read"]})
    created = IntegrationClient.objects.get()
    secret = response.context["secret"]
    assert secret in response.text and created.client_id in response.text
    assert token_response(created.client_id, secret).status_code == 200
    assert secret not in client.get(reverse("integration_clients:inspect", args=[created.pk])).text


def test_an_admin_revokes_a_client(client):
    created, _ = new_client()
    client.force_login(admin())
    client.post(reverse("integrations_revoke", args=[created.pk]))
    created.refresh_from_db()
    assert created.revoked_at is not None


def test_marketers_cannot_create_or_revoke_clients(client):
    created, _ = new_client()
    client.force_login(marketer())
    assert client.get(reverse("integration_clients:add")).status_code in (302, 403)
    client.post(reverse("integrations_revoke", args=[created.pk]))
    created.refresh_from_db()
    assert created.revoked_at is None
