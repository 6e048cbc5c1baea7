from django.conf import settings
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.widgets import AdminDateTimeInput

from .models import Campaign


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
    """The marketer's campaign form: the model's rules plus the ones that span fields."""

    class Meta:
        widgets = {"starts_at": DateTimeWithFormatHint(), "ends_at": DateTimeWithFormatHint()}

    def clean(self):
        data = super().clean()
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", "The campaign must end after it starts.")
        kind, value = data.get("discount_kind"), data.get("discount_value")
        if value is not None:
            if value <= 0:
                self.add_error("discount_value", "The discount must be more than zero.")
            elif kind == Campaign.DiscountKind.PERCENT and value > 100:
                self.add_error("discount_value", "A percent discount cannot exceed 100.")
        if data.get("audience") == Campaign.Audience.MIN_POINTS and not data.get("min_points"):
            self.add_error("min_points", "Say how many points users need for this audience.")
        if data.get("audience") == Campaign.Audience.NEW_USERS and not data.get("new_user_days"):
            self.add_error("new_user_days", "Say how recent 'new' is, in days.")
        instance = self.instance
        max_uses, budget = data.get("max_uses"), data.get("budget")
        if instance.pk and max_uses is not None and max_uses < instance.uses_count:
            self.add_error("max_uses", f"Already used {instance.uses_count} times; the maximum cannot be lower.")
        if instance.pk and budget is not None and budget < instance.budget_spent:
            self.add_error("budget", f"{instance.budget_spent} is already spent; the budget cannot be lower.")
        if max_uses == 0:
            self.add_error("max_uses", "Leave empty for unlimited, or allow at least one use.")
        return data
