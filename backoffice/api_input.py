"""Strict input for the API: JSON that cannot crash the parser, ids that must be whole numbers, idempotency keys."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import parsers, serializers
from rest_framework.exceptions import ParseError

from .idempotency import IDEMPOTENCY_HEADER, IDEMPOTENCY_KEY_MAX_LENGTH, clean_idempotency_key


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, answering deeply nested documents with 400 `parse_error` instead of a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - the document is nested too deeply.") from exc


class StrictPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A primary key given as an integer (or a string of ASCII digits in a query): 1.5, true and "1e0" are
    refused, where the plain field would look up int(1.5) == 1."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not (
            isinstance(data, int) or (isinstance(data, str) and data.isascii() and data.isdigit())
        ):
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(int(data))


def idempotency_key(request):
    """The request's Idempotency-Key header, checked by the one rule (backoffice.idempotency); a missing or
    malformed key raises a DomainError the API's handler answers with 400 in the one error shape."""
    return clean_idempotency_key(request.headers.get(IDEMPOTENCY_HEADER))


def idempotency_key_parameter(description):
    """The Idempotency-Key header as the OpenAPI schema documents it, for every endpoint that takes one."""
    return OpenApiParameter(
        IDEMPOTENCY_HEADER,
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        required=True,
        description=f"1 to {IDEMPOTENCY_KEY_MAX_LENGTH} printable ASCII characters; {description}",
    )
