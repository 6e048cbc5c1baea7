"""Integrations in the Wagtail admin: data API clients (Admins create and revoke them)."""

from django.urls import path
from wagtail import hooks
from wagtail.admin.ui.tables import Column
from wagtail.admin.viewsets.model import ModelViewSet

from . import admin_views
from .models import IntegrationClient


class IntegrationClientViewSet(ModelViewSet):
    """Listing only: creating goes through the form that shows the secret once; revoking through its own view."""

    model = IntegrationClient
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


@hooks.register("register_admin_viewset")
def register_clients():
    return IntegrationClientViewSet("integration_clients")


@hooks.register("register_admin_urls")
def client_urls():
    return [path("integrations/clients/<int:pk>/revoke/", admin_views.revoke_client, name="integrations_revoke")]
