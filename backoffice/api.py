"""API conventions shared by every app: one JSON error shape."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import DomainError

# The one table from a domain refusal's code to its HTTP status; a code not listed answers 422.
DOMAIN_ERROR_STATUS = {
    "invalid": 400,
    "idempotency_key_required": 400,
    "reason_required": 400,
    "reason_too_long": 400,
    "phone_not_verified": 403,
    "already_purchased": 409,
    "already_refunded": 409,
    "already_subscribed": 409,
    "insufficient_points": 409,
    "idempotency_key_reused": 409,
    "price_changed": 409,
    "app_inactive": 422,
    "plan_inactive": 422,
}


def exception_handler(exc, context):
    """Render every API error as {"error": {"code", "message", "details"}}."""
    if isinstance(exc, DomainError):
        body = {"error": {"code": exc.code, "message": exc.message, "details": exc.details}}
        return Response(body, status=DOMAIN_ERROR_STATUS.get(exc.code, 422))
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
