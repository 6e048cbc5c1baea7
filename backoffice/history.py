"""The one object history page of the admin: Wagtail's History view, plus the field-by-field changes.

Wagtail's History (every ModelViewSet's `history/<pk>/`, linked from the edit page) lists the admin actions of its
log: who created, edited or deleted the object. Models that keep django-simple-history records also change outside
the admin (services, uploads, jobs); for them the same page shows each recorded change field by field, with who made
it. The project's viewsets (backoffice.viewsets.ModelViewSet) use `ObjectHistoryView` for every such model; there is
no other object history view. An inspect page that stands in for the edit page links to it with `HistoryLinkMixin`,
as Wagtail's edit page does.
"""

from typing import NamedTuple

from django.contrib.admin.utils import quote
from django.urls import reverse
from simple_history.models import ModelChange
from wagtail.admin.views.generic.history import HistoryView

FIELD_CHANGES_LIMIT = 100


class FieldChanges(NamedTuple):
    rows: list  # {"record": a historical record, "changes": its ModelChange list}, newest first
    truncated: bool  # older records were left out


def has_field_history(model):
    """Whether django-simple-history keeps the model's changes field by field."""
    return hasattr(model._meta, "simple_history_manager_attribute")


def field_changes(instance, limit=FIELD_CHANGES_LIMIT):
    """The latest `limit` simple-history records of `instance`, newest first, each with its field changes. An
    instance without simple-history has none."""
    history = getattr(instance, "history", None)
    if history is None or not hasattr(history, "model"):
        return FieldChanges(rows=[], truncated=False)
    records = list(history.select_related("history_user")[: limit + 1])
    rows = []
    for newer, older in zip(records, [*records[1:], None], strict=False):
        rows.append({"record": newer, "changes": _changes(newer, older) if older is not None else []})
    return FieldChanges(rows=rows[:limit], truncated=len(records) > limit)


def _changes(newer, older):
    """simple-history's diff covers the editable fields only; the changes made outside the admin (an order's status,
    a stock count, a campaign's counters) are mostly in fields no form edits, so those are compared here too."""
    changes = list(newer.diff_against(older).changes)
    for field in older.tracked_fields:
        old, new = getattr(older, field.attname), getattr(newer, field.attname)
        if not field.editable and old != new:
            changes.append(ModelChange(field.name, old, new))
    return sorted(changes, key=lambda change: change.field)


class ObjectHistoryView(HistoryView):
    """Wagtail's History page of one object, with its simple-history field changes below the log."""

    template_name = "backoffice/admin/object_history.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if not self.results_only:  # the log's filters refresh only the log
            changes = field_changes(self.object)
            context.update(field_changes=changes.rows, field_changes_truncated=changes.truncated)
            context["field_changes_limit"] = FIELD_CHANGES_LIMIT
        return context


class HistoryLinkMixin:
    """For an InspectView that is the object's only page (its changes go through services): the History link in
    the header, where Wagtail's edit page has it, for who may open the History page."""

    history_url_name = None

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if self.history_url_name and self.user_has_any_permission(HistoryView.any_permission_required):
            context["history_url"] = reverse(self.history_url_name, args=[quote(self.object.pk)])
        return context
