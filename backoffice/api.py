"""API conventions shared by every app: one JSON error shape."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from backoffice.errors import DomainError

from .api_input import idempotency_key_parameter
from .throttling import ScopedRateThrottle, UserRateThrottle

# The one table from a domain error's code to the HTTP status the API answers. Services never pick a status.
# A code missing here answers DOMAIN_ERROR_DEFAULT_STATUS (the request was understood but a rule refuses it).
ERROR_STATUS = {
    # the request itself is malformed
    "invalid": 400,
    "parse_error": 400,
    "idempotency_key_required": 400,
    "idempotency_key_invalid": 400,
    "cart_reference_required": 400,
    # the member may not do this yet
    "phone_not_verified": 403,
    # nothing there
    "not_found": 404,
    # the request conflicts with the current state (counters, balance, earlier requests)
    "campaign_exhausted": 409,
    "campaign_has_redemptions": 409,
    "budget_exhausted": 409,
    "per_user_limit_reached": 409,
    "insufficient_points": 409,
    "idempotency_key_reused": 409,
    "already_purchased": 409,
    "already_refunded": 409,
    "already_subscribed": 409,
    "already_revoked": 409,
    "price_changed": 409,
    "points_cost_changed": 409,
    "campaign_changed": 409,
    "not_stackable": 409,
    "cart_fully_discounted": 409,
    "cart_total_mismatch": 409,
    "already_voided": 409,
    # a business rule refuses a well-formed request
    "campaign_expired": 422,
    "campaign_not_started": 422,
    "campaign_inactive": 422,
    "cart_below_minimum": 422,
    "app_not_eligible": 422,
    "user_not_eligible": 422,
    "app_inactive": 422,
    "plan_inactive": 422,
    # a refund's reason is checked like a request field
    "reason_required": 400,
    "reason_too_long": 400,
}
DOMAIN_ERROR_DEFAULT_STATUS = 422

# The one error shape, as the OpenAPI schema documents it for every endpoint's error responses.
ERROR = inline_serializer(
    "Error",
    {
        "error": inline_serializer(
            "ErrorBody",
            {"code": serializers.CharField(), "message": serializers.CharField(), "details": serializers.JSONField()},
        )
    },
)


def keyed_responses(serializer, *error_statuses):
    """The documented answers of a request done once per Idempotency-Key: 201 the first time, 200 on a replay
    (the first result again), and the given error statuses in the one error shape."""
    return {
        201: serializer,
        200: OpenApiResponse(serializer, description="Replay of an earlier request with this key."),
        **dict.fromkeys(error_statuses, ERROR),
    }


# A logged-in member's write done once per Idempotency-Key (a purchase, a redemption): throttled per user and per
# the view's `throttle_scope`; its POST is documented by `keyed_write_schema`. (A comment, not a docstring: the
# schema would show a docstring as every such endpoint's description.)
class KeyedWriteView(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [UserRateThrottle, ScopedRateThrottle]


def keyed_write_schema(*, request, response, errors, replay, summary):
    """The OpenAPI description of a KeyedWriteView's POST: its body, the Idempotency-Key header (`replay` says what a
    repeated key returns), 201/200 answers and the given error statuses."""
    return extend_schema(
        request=request,
        parameters=[idempotency_key_parameter(replay)],
        responses=keyed_responses(response, *errors),
        summary=summary,
    )


def keyed_response(data, *, created):
    """The answer to a request done once per Idempotency-Key: 201 when this request did the work, 200 on a replay;
    `Idempotent-Replayed` says which."""
    response = Response(data, status=201 if created else 200)
    response["Idempotent-Replayed"] = "false" if created else "true"
    return response


def domain_error_response(error):
    """The API's answer to a DomainError: its status from ERROR_STATUS, the body in the one error shape."""
    status = ERROR_STATUS.get(error.code, DOMAIN_ERROR_DEFAULT_STATUS)
    return Response({"error": {"code": error.code, "message": error.message, "details": error.details}}, status=status)


def exception_handler(exc, context):
    """Render every API error as {"error": {"code", "message", "details"}}."""
    if isinstance(exc, DomainError):
        return domain_error_response(exc)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    code = getattr(exc, "default_code", "error")
    codes = exc.get_codes() if hasattr(exc, "get_codes") else code
    if isinstance(codes, str):
        code = codes
    if isinstance(data, dict) and set(data) == {"detail"}:
        message, details = str(data["detail"]), {}
    else:
        message, details = "The request is invalid.", data
        code = "invalid" if code == "error" else code
    response.data = {"error": {"code": code, "message": message, "details": details}}
    return response


def public_api_endpoints(endpoints):
    """drf-spectacular preprocessing hook: document only the project's API under /api/, not Wagtail's admin API."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/api/")]
