"""Admins create data API clients (the secret is shown once) and revoke them."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse

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


def revoke_client(request, pk):
    if not request.user.has_perm("integrations.revoke_integrationclient"):
        raise PermissionDenied
    client = get_object_or_404(IntegrationClient, pk=pk)
    if request.method == "POST":
        try:
            clients.revoke_client(client, actor=request.user)
        except clients.ClientRefused as refused:
            messages.error(request, refused.message)
        else:
            messages.success(request, f"{client.name} is revoked; its tokens no longer work.")
        return redirect("integration_clients:index")
    return TemplateResponse(request, "integrations/admin/client_revoke.html", {"client": client})


def replay_delivery(request, pk):
    """Send a logged delivery again (POST); the copy is a new row of the log."""
    if not request.user.has_perm("integrations.replay_webhookdelivery"):
        raise PermissionDenied
    delivery = get_object_or_404(WebhookDelivery, pk=pk)
    if request.method == "POST":
        copy = webhooks.replay(delivery, actor=request.user)
        messages.success(request, f"Delivery queued again as #{copy.pk}.")
        return redirect("webhook_deliveries:inspect", copy.pk)
    return redirect("webhook_deliveries:inspect", pk)
