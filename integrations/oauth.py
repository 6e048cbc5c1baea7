"""django-oauth-toolkit wired to data API clients: per-client scopes, expiry and revocation, DRF authentication."""

from django.contrib.auth.models import AnonymousUser
from drf_spectacular.contrib.django_oauth_toolkit import DjangoOAuthToolkitScheme
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.scopes import BaseScopes
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.throttling import SimpleRateThrottle

from .clients import SCOPES, usable_client


class ClientScopes(BaseScopes):
    """A client may ask only for the scopes an Admin granted it; asking for none gives all of them."""

    def get_all_scopes(self):
        return SCOPES

    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        client = usable_client(application)
        return client.scopes if client else []

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        return self.get_available_scopes(application, request)


class ClientValidator(OAuth2Validator):
    """An expired or revoked client fails client authentication (token endpoint answers invalid_client)."""

    def authenticate_client(self, request, *args, **kwargs):
        return super().authenticate_client(request, *args, **kwargs) and usable_client(request.client) is not None


class ClientTokenAuthentication(OAuth2Authentication):
    """Bearer tokens of data API clients; a token of a client that expired since is refused."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user, token = result
        if usable_client(token.application) is None:
            raise AuthenticationFailed("This client is expired or revoked.")
        return user or AnonymousUser(), token


class ClientRateThrottle(SimpleRateThrottle):
    """Requests per client (per OAuth2 application), scope `data_api`."""

    scope = "data_api"

    def get_cache_key(self, request, view):
        application_id = getattr(request.auth, "application_id", None)
        if application_id is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": application_id}


class ClientTokenScheme(DjangoOAuthToolkitScheme):
    """OpenAPI: the data API's bearer tokens come from the OAuth2 client-credentials flow at /oauth/token/."""

    target_class = ClientTokenAuthentication
    name = "dataApiClient"
