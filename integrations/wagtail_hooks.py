"""Integrations in the Wagtail admin: data API clients (Admins create and revoke them)."""

from django.urls import path
from wagtail import hooks
from wagtail.admin.ui.tables import Column
from wagtail.admin.viewsets.model import ModelViewSet

from . import admin_views, webhooks
from .admin_forms import WebhookEndpointForm
from .models import IntegrationClient, WebhookDelivery, WebhookEndpoint


class IntegrationClientViewSet(ModelViewSet):
    """Listing only: creating goes through the form that shows the secret once; revoking through its own view."""

    model = IntegrationClient
    name = "integration_clients"
    icon = "key"
    menu_label = "Data API clients"
    menu_order = 900
    add_to_admin_menu = True
    inspect_view_enabled = True
    list_display = ["name", "client_id", Column("scopes"), "expires_at", "created_at", "revoked_at"]
    list_filter = ["revoked_at"]
    form_fields = []
    inspect_template_name = "integrations/admin/client_inspect.html"

    @property
    def add_view(self):
        return admin_views.create_client


class WebhookEndpointViewSet(ModelViewSet):
    """Where the dashboard service (or any receiver) gets the events it subscribed to, each signed with the
    endpoint's secret; every attempt is logged under Webhook deliveries, where Admins replay one."""

    model = WebhookEndpoint
    name = "webhook_endpoints"
    form_class = WebhookEndpointForm
    icon = "link-external"
    menu_label = "Webhooks"
    menu_order = 910
    add_to_admin_menu = True
    list_display = ["name", "url", Column("events"), "active", "created_at"]
    list_filter = ["active"]
    form_fields = ["name", "url", "events", "secret", "active"]

    def get_form_class(self, for_update=False):
        return WebhookEndpointForm


class WebhookDeliveryViewSet(ModelViewSet):
    """The delivery log: read-only, with a replay button on each delivery."""

    model = WebhookDelivery
    name = "webhook_deliveries"
    icon = "mail"
    menu_label = "Webhook deliveries"
    menu_order = 920
    add_to_admin_menu = True
    inspect_view_enabled = True
    inspect_template_name = "integrations/admin/delivery_inspect.html"
    list_display = ["event", "endpoint", "status", "attempts", "response_status", "last_attempt_at", "created_at"]
    list_filter = ["status", "event", "endpoint"]
    form_fields = []
    inspect_view_fields = [
        *("endpoint", "event", "status", "attempts", "response_status", "last_error", "last_attempt_at"),
        *("created_at", "replay_of", "replayed_by", "body"),
    ]


@hooks.register("register_admin_viewset")
def register_integrations_viewsets():
    return [
        IntegrationClientViewSet(),
        WebhookEndpointViewSet(),
        WebhookDeliveryViewSet(),
    ]


@hooks.register("register_admin_urls")
def register_integrations_urls():
    """Revoking a client and replaying a delivery: confirmations and actions outside the viewsets' own URLs."""
    return [
        path(
            "integrations/clients/<int:pk>/revoke/", admin_views.RevokeClientView.as_view(), name="integrations_revoke"
        ),
        path(
            "integrations/deliveries/<int:pk>/replay/",
            admin_views.ReplayDeliveryView.as_view(),
            name="integrations_replay",
        ),
    ]


@hooks.register("backoffice_event")
def send_webhooks(event, payload):
    """Every published domain event becomes a delivery to each endpoint subscribed to it."""
    webhooks.queue_deliveries(event=event, payload=payload)
