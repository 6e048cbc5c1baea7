"""A data API client as a separate service would use it: client credentials for a token, then GETs."""

import base64

from rest_framework.test import APIClient

from backoffice.tests.factories import admin
from integrations.clients import create_client


def new_client(scopes=("apps:read", "purchases:read", "users:read", "ledger:read"), **kwargs):
    return create_client(name="Dashboard", scopes=list(scopes), created_by=admin(), **kwargs)


def token_response(client_id, secret, scope=None, http=None):
    http = http or APIClient()
    body = {"grant_type": "client_credentials"}
    if scope is not None:
        body["scope"] = scope
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return http.post("/oauth/token/", body, HTTP_AUTHORIZATION=f"Basic {basic}")


def bearer(token):
    http = APIClient()
    http.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return http


def authorized(scopes=("apps:read", "purchases:read", "users:read", "ledger:read"), scope=None):
    client, secret = new_client(scopes)
    token = token_response(client.client_id, secret, scope=scope).json()["access_token"]
    return bearer(token), client
