"""Keyset cursor pagination for incremental sync: ordered by (timestamp, id), cursors signed, forward only.

A page is the rows after the cursor's position `(timestamp, id)` in that order, so a client that keeps the
`next_cursor` of its last page and asks again later gets only rows written since: none missed, none repeated
(an updated row comes back once per update, to be upserted by id). Rows written in the last
`DATA_API_SYNC_LAG_SECONDS` are held back: a transaction that commits a little after the timestamp it wrote
(PostgreSQL makes rows visible at commit, not at `now()`) would otherwise land behind a cursor that already
passed it. The cursor is signed with the project's secret key, so a tampered or forged one is a 400.
"""

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

CURSOR_SALT = "integrations.cursor"


class InvalidCursor(ValidationError):
    default_code = "invalid_cursor"


class SyncCursorPagination(CursorPagination):
    """DRF's cursor pagination reshaped for sync: keyset on (`ordering_field`, id), signed, with a since filter."""

    cursor_query_param = "cursor"
    page_size_query_param = "page_size"
    ordering_field = "updated_at"  # a view sets "created_at" for append-only tables
    since_query_param = "updated_since"

    def __init__(self):
        self.page_size = settings.DATA_API_PAGE_SIZE
        self.max_page_size = settings.DATA_API_MAX_PAGE_SIZE

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            raise ValidationError({self.page_size_query_param: "A whole number."}) from None
        if not 1 <= size <= self.max_page_size:
            raise ValidationError({self.page_size_query_param: f"Between 1 and {self.max_page_size}."})
        return size

    def encode_position(self, timestamp, pk):
        return signing.dumps([timestamp.isoformat(), pk, self.ordering_field], salt=self._salt(), compress=True)

    def _salt(self):
        """A cursor is good only for the endpoint that issued it."""
        return f"{CURSOR_SALT}:{self.request.path}"

    def decode_position(self, cursor):
        try:
            stamp, pk, field_name = signing.loads(cursor, salt=self._salt())
            timestamp = parse_datetime(stamp)
        except (signing.BadSignature, ValueError, TypeError):
            raise InvalidCursor({self.cursor_query_param: "This cursor is not valid."}) from None
        if timestamp is None or not isinstance(pk, int) or field_name != self.ordering_field:
            raise InvalidCursor({self.cursor_query_param: "This cursor is not valid."})
        return timestamp, pk

    def _since(self, request):
        raw = request.query_params.get(self.since_query_param)
        if raw is None:
            return None
        try:
            value = parse_datetime(raw.replace(" ", "+"))
        except ValueError:  # well formed but impossible, e.g. month 13
            value = None
        if value is None:
            raise ValidationError({self.since_query_param: "An ISO 8601 date and time, e.g. 2026-01-31T00:00:00Z."})
        if timezone.is_naive(value):
            value = timezone.make_aware(value, timezone.UTC)
        return value

    def paginate_queryset(self, queryset, request, view=None):
        self.request, self.ordering = request, (self.ordering_field, "id")
        field = self.ordering_field
        size = self.get_page_size(request)
        watermark = timezone.now() - timedelta(seconds=settings.DATA_API_SYNC_LAG_SECONDS)
        rows = queryset.filter(**{f"{field}__lte": watermark})
        since = self._since(request)
        if since is not None:
            rows = rows.filter(**{f"{field}__gte": since})
        cursor = request.query_params.get(self.cursor_query_param)
        self.position = self.decode_position(cursor) if cursor else None
        if self.position is not None:
            stamp, pk = self.position
            # The redundant `>=` lets the (field, id) index start the range scan at the cursor.
            rows = rows.filter(
                Q(**{f"{field}__gt": stamp}) | Q(**{field: stamp, "id__gt": pk}), **{f"{field}__gte": stamp}
            )
        page = list(rows.order_by(field, "id")[: size + 1])
        self.has_more = len(page) > size
        self.page = page[:size]
        if self.page:
            last = self.page[-1]
            self.next_cursor = self.encode_position(getattr(last, field), last.pk)
        else:
            self.next_cursor = cursor
        return self.page

    def get_next_link(self):
        if not self.has_more:
            return None
        return replace_query_param(self.request.build_absolute_uri(), self.cursor_query_param, self.next_cursor)

    def get_paginated_response(self, data):
        return Response({"next": self.get_next_link(), "next_cursor": self.next_cursor, "results": data})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results", "next", "next_cursor"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri", "description": "Null on the last page."},
                "next_cursor": {
                    "type": "string",
                    "nullable": True,
                    "description": "Keep it: asking again with it later returns only rows written since.",
                },
                "results": schema,
            },
        }


class CreatedCursorPagination(SyncCursorPagination):
    """For append-only tables (the ledger, users by sign-up)."""

    ordering_field = "created_at"
    since_query_param = "created_since"
