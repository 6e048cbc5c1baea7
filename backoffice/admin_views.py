"""Wagtail admin screens of the project package: Deliveries (outgoing email and SMS), with "Send again"."""

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import path, reverse
from wagtail.admin.ui.menus import MenuItem
from wagtail.admin.ui.tables import Column, DateColumn
from wagtail.admin.views.generic import IndexView
from wagtail.admin.viewsets.model import ModelViewSet

from . import delivery as deliveries
from .models import Delivery
from .viewsets import ConfirmObjectActionView

RETRY_PERMISSION = "backoffice.retry_delivery"
RETRYABLE = (Delivery.Status.FAILED, Delivery.Status.RETRYING)


class RetryDeliveryView(ConfirmObjectActionView):
    """A confirmation page, then a POST that sends the delivery again now."""

    permission = RETRY_PERMISSION
    model = Delivery
    context_object_name = "delivery"
    template_name = "backoffice/retry_delivery.html"
    header_icon = "mail"
    submit_label = "Send again"
    cancel_url_name = "deliveries:index"

    def get_page_title(self):
        return f"Send again: {self.object}"

    def post(self, request, *args, **kwargs):
        delivery = self.object
        if deliveries.retry_delivery(delivery):
            messages.success(request, f"Sending {delivery} again; its status shows how it went.")
        else:
            messages.info(request, f"{delivery} is not waiting for a retry (it is {delivery.status}).")
        return redirect("deliveries:index")


class DeliveryIndexView(IndexView):
    def get_list_more_buttons(self, instance):
        buttons = super().get_list_more_buttons(instance)
        if instance.status in RETRYABLE and self.request.user.has_perm(RETRY_PERMISSION):
            url = reverse("deliveries:retry", args=[instance.pk])
            buttons.append(MenuItem("Send again", url=url, icon_name="repeat", priority=15))
        return buttons


def _last_error(delivery):
    return delivery.last_error.strip().splitlines()[-1][:160] if delivery.last_error else ""


class DeliveryViewSet(ModelViewSet):
    """Read-only: deliveries are written by backoffice.delivery only."""

    model = Delivery
    name = "deliveries"
    icon = "mail"
    menu_label = "Deliveries"
    menu_order = 910
    add_to_admin_menu = True
    index_view_class = DeliveryIndexView
    copy_view_enabled = False
    inspect_view_enabled = True
    # An SMS body holds a one-time code: not shown, not even to staff.
    inspect_view_fields = ["channel", "to", "subject", "status", "attempts", "last_error", "provider_id"]
    inspect_view_fields += ["created_at", "last_attempt_at", "next_attempt_at", "sent_at"]
    list_filter = ["status", "channel"]
    search_fields = ["to", "subject", "last_error"]
    search_backend_name = None
    list_display = [
        "to",
        "channel",
        "subject",
        "status",
        "attempts",
        DateColumn("created_at", label="Queued"),
        DateColumn("sent_at", label="Sent"),
        Column("last_error", label="Last error", accessor=_last_error),
    ]
    form_fields = []

    def get_urlpatterns(self):
        return [*super().get_urlpatterns(), path("<int:pk>/retry/", RetryDeliveryView.as_view(), name="retry")]
