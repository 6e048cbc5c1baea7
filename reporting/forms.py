import datetime
import json

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from wagtail.admin.forms import WagtailAdminModelForm

from .schedules import registered_task_names
from .selectors import MAX_RANGE_DAYS

DEFAULT_RANGE_DAYS = 30


def default_range(today=None):
    today = today or timezone.localdate()
    return today - datetime.timedelta(days=DEFAULT_RANGE_DAYS - 1), today


def range_problem(start, end):
    """Why [start, end] is not a range the dashboard shows, or None when it is fine."""
    if end < start:
        return f"The end date ({end}) is before the start date ({start})."
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        return f"The range covers {(end - start).days + 1} days; choose at most {MAX_RANGE_DAYS}."
    return None


class DateRangeForm(forms.Form):
    start = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Enter the start date as YYYY-MM-DD."},
    )
    end = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Enter the end date as YYYY-MM-DD."},
    )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and (problem := range_problem(start, end)):
            raise ValidationError(problem)
        return cleaned


def _json_field(value, expected_type, label):
    try:
        parsed = json.loads(value or ("{}" if expected_type is dict else "[]"))
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"{label} must be valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        ) from exc
    if not isinstance(parsed, expected_type):
        kind = 'an object, e.g. {"day": "2026-01-31"}' if expected_type is dict else "a list, e.g. [1, 2]"
        raise ValidationError(f"{label} must be {kind}.")
    return json.dumps(parsed)


class PeriodicTaskForm(WagtailAdminModelForm):
    """A periodic task with exactly one schedule (interval or crontab) and JSON arguments checked before saving."""

    class Meta:
        model = PeriodicTask
        fields = [
            "name",
            "task",
            "enabled",
            "interval",
            "crontab",
            "kwargs",
            "args",
            "one_off",
            "start_time",
            "expires",
            "description",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        known = ", ".join(registered_task_names())
        self.fields["task"].help_text = f"The Celery task name. Known here: {known}."
        self.fields["kwargs"].help_text = 'Keyword arguments as a JSON object, e.g. {"day": "2026-01-31"}.'
        self.fields["args"].help_text = "Positional arguments as a JSON list (usually empty: [])."

    def clean_kwargs(self):
        return _json_field(self.cleaned_data.get("kwargs"), dict, "Keyword arguments")

    def clean_args(self):
        return _json_field(self.cleaned_data.get("args"), list, "Positional arguments")

    def clean_task(self):
        task = (self.cleaned_data.get("task") or "").strip()
        unchanged = self.instance.pk and task == self.instance.task
        if not unchanged and task not in registered_task_names():
            raise ValidationError(f"No task named {task!r} is registered.")
        return task

    def clean(self):
        cleaned = super().clean()
        has_interval, has_crontab = bool(cleaned.get("interval")), bool(cleaned.get("crontab"))
        if has_interval == has_crontab and not (self.instance.clocked_id or self.instance.solar_id):
            raise ValidationError("Choose exactly one schedule: an interval or a crontab.")
        return cleaned
