"""Services outside the product that read its data: OAuth2 clients (data API v1) and webhook endpoints."""

from django.conf import settings
from django.db import models


class IntegrationClient(models.Model):
    """An OAuth2 client-credentials client an Admin created for a service (e.g. the management dashboard).

    The OAuth2 side lives in django-oauth-toolkit's `Application`; revoking deletes it (and so every token)
    and keeps this row as the record of who had access, with which scopes, until when.
    """

    name = models.CharField(max_length=120)
    application = models.OneToOneField(
        "oauth2_provider.Application", null=True, blank=True, on_delete=models.SET_NULL, related_name="integration"
    )
    client_id = models.CharField(max_length=100, unique=True, editable=False)
    scopes = models.JSONField(default=list, help_text="The scopes this client may ask for.")
    expires_at = models.DateTimeField(null=True, blank=True, help_text="After this the client gets no tokens.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    class Meta:
        ordering = ["-created_at"]
        permissions = [("revoke_integrationclient", "Can revoke a data API client")]

    def __str__(self):
        return self.name
