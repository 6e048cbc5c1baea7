"""Write and read paths of data API clients: create (the secret is shown once), revoke, and who may get a token."""

from django.db import transaction
from django.utils import timezone
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import AccessToken, Application

from backoffice.errors import DomainError

from .models import IntegrationClient


class ClientRefused(DomainError):
    pass


# Declared once here and registered with django-oauth-toolkit through the settings' scopes backend.
SCOPES = {
    "apps:read": "Read apps",
    "purchases:read": "Read purchases",
    "users:read": "Read users (no email)",
    "users:email": "Read users' email addresses",
    "ledger:read": "Read the points ledger",
}


def create_client(*, name, scopes, created_by, expires_at=None):
    """Create a client-credentials client with `scopes`. Returns (client, secret); the secret is stored hashed."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise ClientRefused("invalid", f"Unknown scopes: {', '.join(unknown)}.")
    if not scopes:
        raise ClientRefused("invalid", "Choose at least one scope.")
    secret = generate_client_secret()
    with transaction.atomic():
        application = Application.objects.create(
            name=name,
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
            client_secret=secret,
            user=None,
        )
        client = IntegrationClient.objects.create(
            name=name,
            application=application,
            client_id=application.client_id,
            scopes=sorted(set(scopes)),
            expires_at=expires_at,
            created_by=created_by,
        )
    return client, secret


def revoke_client(*, client, actor):
    """Revoke a client at once: its application and every token are deleted; the record stays."""
    with transaction.atomic():
        locked = IntegrationClient.objects.select_for_update().get(pk=client.pk)
        if locked.revoked_at is not None:
            raise ClientRefused("already_revoked", "This client was already revoked.")
        if locked.application_id:
            AccessToken.objects.filter(application_id=locked.application_id).delete()
            Application.objects.filter(pk=locked.application_id).delete()
        locked.application = None
        locked.revoked_at, locked.revoked_by = timezone.now(), actor
        locked.save(update_fields=["revoked_at", "revoked_by", "application"])
    return locked


def usable_client(application, now=None):
    """The IntegrationClient behind `application` if it may be used now (not revoked, not expired), else None."""
    if application is None:
        return None
    now = now or timezone.now()
    client = IntegrationClient.objects.filter(application_id=application.pk, revoked_at__isnull=True).first()
    if client is None or (client.expires_at is not None and client.expires_at <= now):
        return None
    return client
