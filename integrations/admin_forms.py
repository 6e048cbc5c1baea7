from django import forms
from wagtail.admin.forms import WagtailAdminModelForm

from . import webhooks
from .models import WEBHOOK_EVENTS, WebhookEndpoint


class WebhookEndpointForm(WagtailAdminModelForm):
    events = forms.MultipleChoiceField(choices=WEBHOOK_EVENTS, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = WebhookEndpoint
        fields = ["name", "url", "events", "secret", "active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance.pk:
            self.initial.setdefault("secret", webhooks.new_secret())

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            return webhooks.check_url(url)
        except webhooks.WebhookRefused as refused:
            raise forms.ValidationError(refused.message, code=refused.code) from None

    def clean_secret(self):
        secret = self.cleaned_data["secret"].strip()
        if len(secret) < 32:
            raise forms.ValidationError("Use at least 32 characters.")
        return secret
