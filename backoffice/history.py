"""The one object history page of the admin: Wagtail's History view, plus the field-by-field changes.

Wagtail's History (every ModelViewSet's `history/<pk>/`, linked from the edit page) lists the admin actions of its
log: who created, edited or deleted the object. Models that keep django-simple-history records also change outside
the admin (services, uploads, jobs); for them the same page shows each recorded change field by field, with who made
it. A viewset opts in with `history_view_class = ObjectHistoryView`; there is no other object history view.
"""

from typing import NamedTuple

from wagtail.admin.views.generic.history import HistoryView

FIELD_CHANGES_LIMIT = 100


class FieldChanges(NamedTuple):
    rows: list  # {"record": a historical record, "changes": its ModelChange list}, newest first
    truncated: bool  # older records were left out


def field_changes(instance, limit=FIELD_CHANGES_LIMIT):
    """The latest `limit` simple-history records of `instance`, newest first, each with its field changes. An
    instance without simple-history has none."""
    history = getattr(instance, "history", None)
    if history is None or not hasattr(history, "model"):
        return FieldChanges(rows=[], truncated=False)
    records = list(history.select_related("history_user")[: limit + 1])
    rows = []
    for newer, older in zip(records, [*records[1:], None], strict=False):
        rows.append({"record": newer, "changes": newer.diff_against(older).changes if older is not None else []})
    return FieldChanges(rows=rows[:limit], truncated=len(records) > limit)


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
