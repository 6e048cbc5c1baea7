"""Services outside the product that read its data: OAuth2 clients (data API v1) and webhook endpoints."""

from django.db import models

from backoffice.models import NamedModel, actor_link, optional_link


class IntegrationClient(models.Model):
    """An OAuth2 client-credentials client an Admin created for a service (e.g. the management dashboard).

    The OAuth2 side lives in django-oauth-toolkit's `Application`; revoking deletes it (and so every token)
    and keeps this row as the record of who had access, with which scopes, until when.
    """

    name = models.CharField(max_length=120)
    application = optional_link(
        "oauth2_provider.Application", one_to_one=True, on_delete=models.SET_NULL, related_name="integration"
    )
    client_id = models.CharField(max_length=100, unique=True, editable=False)
    scopes = models.JSONField(default=list, help_text="The scopes this client may ask for.")
    expires_at = models.DateTimeField(null=True, blank=True, help_text="After this the client gets no tokens.")
    created_by = actor_link(on_delete=models.SET_NULL, blank=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_by = actor_link(on_delete=models.SET_NULL, editable=False)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("revoke_integrationclient", "Can revoke a data API client")]

    def __str__(self):
        return self.name


WEBHOOK_EVENTS = [
    ("app.created", "An app was created"),
    ("purchase.created", "A member bought an app"),
    ("purchase.refunded", "A purchase was refunded"),
    ("proof.approved", "A proof was approved"),
    ("redemption.created", "A campaign was redeemed"),
]


class WebhookEndpoint(NamedModel):
    """Where to POST the events an Admin chose, signed with the endpoint's secret."""

    name = models.CharField(max_length=120)
    url = models.URLField(max_length=500, help_text="http(s) only; private and internal addresses are refused.")
    secret = models.CharField(max_length=128, help_text="Signs every delivery (HMAC-SHA256); give it to the receiver.")
    events = models.JSONField(default=list)
    active = models.BooleanField(default=True)
    created_by = actor_link(on_delete=models.SET_NULL, blank=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)


class WebhookDelivery(models.Model):
    """One event sent (or being sent) to one endpoint: the log Admins read and replay from."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RETRYING = "retrying", "Failed, will retry"
        DELIVERED = "delivered"
        FAILED = "failed"

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40, db_index=True)
    body = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    response_status = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    replay_of = optional_link("self", on_delete=models.SET_NULL, related_name="replays")
    replayed_by = actor_link(on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        permissions = [("replay_webhookdelivery", "Can send a webhook delivery again")]

    def __str__(self):
        return f"{self.event} → {self.endpoint} ({self.get_status_display()})"
