from datetime import timedelta

from django import forms

from catalog.models import App

from .models import ScreenshotProof
from .proofs import REASON_MAX_LENGTH

AGES = {"": None, "1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7)}


class QueueFilterForm(forms.Form):
    app = forms.ModelChoiceField(
        queryset=App.objects.order_by("name").only("id", "name"), required=False, empty_label="Any app"
    )
    user = forms.CharField(required=False, max_length=254, label="User (email or id)")
    age = forms.ChoiceField(
        required=False,
        choices=[
            ("", "Any age"),
            ("1h", "Older than 1 hour"),
            ("24h", "Older than 24 hours"),
            ("7d", "Older than 7 days"),
        ],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Rendered from one plain list query: the field's own iterator opens a server-side cursor (three round trips
        # on PostgreSQL) on every queue page. Validation still goes through the field's queryset.
        app = self.fields["app"]
        app.choices = [("", app.empty_label), *app.queryset.values_list("pk", "name")]

    def lookups(self):
        """The filters as selector keyword arguments; an invalid form filters nothing."""
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        return {
            "app_id": data["app"].pk if data["app"] else None,
            "user_query": data["user"].strip(),
            "older_than": AGES[data["age"]],
        }


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=REASON_MAX_LENGTH, strip=True)


class InvalidateForm(ReasonForm):
    allow_negative = forms.BooleanField(
        required=False,
        label="Allow a negative balance",
        help_text="Only if the user already spent the points and you accept that they owe them.",
    )


class BulkForm(forms.Form):
    action = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    proofs = forms.TypedMultipleChoiceField(coerce=int, choices=[], required=True)
    reason = forms.CharField(max_length=REASON_MAX_LENGTH, required=False, strip=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["proofs"].validate = lambda value: None
        self.fields["proofs"].valid_value = lambda value: True

    def clean(self):
        data = super().clean()
        if data.get("action") == "reject" and not data.get("reason"):
            self.add_error("reason", "A reason is required to reject.")
        if len(data.get("proofs") or []) > 500:
            self.add_error("proofs", "Select at most 500 proofs at once.")
        return data


class ProofFilterForm(QueueFilterForm):
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *ScreenshotProof.Status.choices])

    def lookups(self):
        lookups = super().lookups()
        return {**lookups, "status": self.cleaned_data["status"]} if lookups else {}
