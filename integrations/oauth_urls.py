"""The OAuth2 token endpoint (client credentials) and token revocation; RFC 6749 error bodies, not the API's shape."""

from django.urls import path
from oauth2_provider import views as oauth2_views

app_name = "oauth2_provider"
urlpatterns = [
    path("token/", oauth2_views.TokenView.as_view(), name="token"),
    path("revoke_token/", oauth2_views.RevokeTokenView.as_view(), name="revoke-token"),
]
