from django.conf import settings
from django.core.exceptions import ValidationError
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.widgets import AdminDateTimeInput

from . import campaigns


class DateTimeWithFormatHint(AdminDateTimeInput):
    """Wagtail's date-time picker, with the format it expects written under it (typing stays possible)."""

    template_name = "growth/admin/datetime_with_hint.html"

    def __init__(self, attrs=None, **kwargs):
        super().__init__(attrs={"placeholder": "YYYY-MM-DD HH:MM", **(attrs or {})}, **kwargs)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["hint"] = f"Pick a date, or type it as 2026-12-01 09:30 ({settings.TIME_ZONE})."
        if context["widget"]["attrs"].get("id"):
            context["widget"]["attrs"]["aria-describedby"] = f"{context['widget']['attrs']['id']}-format"
        return context


class CampaignForm(WagtailAdminModelForm):
    """The marketer's campaign form: field widgets only. Every rule is `growth.campaigns.validate_campaign`'s,
    shown here on the fields it names; the views save through the campaign service."""

    class Meta:
        widgets = {"starts_at": DateTimeWithFormatHint(), "ends_at": DateTimeWithFormatHint()}

    def validate_unique(self):
        """Runs after the instance is built: the service's rules first, in words; then the model's constraints."""
        instance = self.instance
        try:
            campaigns.validate_campaign(instance, uses_count=instance.uses_count, budget_spent=instance.budget_spent)
        except ValidationError as error:
            self._update_errors(error)
            return
        super().validate_unique()
