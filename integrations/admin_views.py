"""Admins create data API clients (the secret is shown once) and revoke them."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.generic import TemplateView, View

from backoffice.viewsets import ObjectMixin, PermissionRequiredMixin

from . import clients, webhooks
from .models import IntegrationClient, WebhookDelivery


class ClientForm(forms.Form):
    name = forms.CharField(max_length=120)
    scopes = forms.MultipleChoiceField(
        choices=list(clients.SCOPES.items()), widget=forms.CheckboxSelectMultiple, required=True
    )
    expires_at = forms.DateTimeField(
        required=False, help_text="Optional: after this the client gets no tokens (YYYY-MM-DD HH:MM)."
    )


def create_client(request):
    if not request.user.has_perm("integrations.add_integrationclient"):
        raise PermissionDenied
    form = ClientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        client, secret = clients.create_client(created_by=request.user, **form.cleaned_data)
        # The only time the secret is readable: it is stored hashed.
        return TemplateResponse(request, "integrations/admin/client_created.html", {"client": client, "secret": secret})
    return TemplateResponse(request, "integrations/admin/client_form.html", {"form": form})


class RevokeClientView(PermissionRequiredMixin, ObjectMixin, TemplateView):
    """A confirmation page, then a POST that revokes the client and every token it holds."""

    permission = "integrations.revoke_integrationclient"
    model = IntegrationClient
    context_object_name = "client"
    template_name = "integrations/admin/client_revoke.html"

    def post(self, request, *args, **kwargs):
        client = self.object
        try:
            clients.revoke_client(client=client, actor=request.user)
        except clients.ClientRefused as refused:
            messages.error(request, refused.message)
        else:
            messages.success(request, f"{client.name} is revoked; its tokens no longer work.")
        return redirect("integration_clients:index")


class ReplayDeliveryView(PermissionRequiredMixin, ObjectMixin, View):
    """Send a logged delivery again (POST); the copy is a new row of the log. GET goes back to the delivery."""

    permission = "integrations.replay_webhookdelivery"
    model = WebhookDelivery

    def get(self, request, *args, **kwargs):
        return redirect("webhook_deliveries:inspect", self.object.pk)

    def post(self, request, *args, **kwargs):
        copy = webhooks.replay(self.object, actor=request.user)
        messages.success(request, f"Delivery queued again as #{copy.pk}.")
        return redirect("webhook_deliveries:inspect", copy.pk)
