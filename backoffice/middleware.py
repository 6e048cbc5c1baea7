import contextvars
import logging
import re
import uuid

from django.http import HttpResponseBadRequest, JsonResponse


class RejectNullCharactersMiddleware:
    """Refuse query strings carrying NUL characters: PostgreSQL text cannot hold them, so any filter using one
    would fail with a server error. API clients get the project's JSON error shape."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if any("\x00" in key or "\x00" in value for key, values in request.GET.lists() for value in values):
            message = "Query parameters may not contain NUL characters."
            if request.path.startswith("/api/"):
                return JsonResponse({"error": {"code": "invalid", "message": message, "details": {}}}, status=400)
            return HttpResponseBadRequest(message)
        return self.get_response(request)


REQUEST_ID_HEADER = "X-Request-ID"
_request_id = contextvars.ContextVar("request_id", default="-")
_ACCEPTABLE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,200}$")


class RequestIdMiddleware:
    """Give every request an id: the load balancer's X-Request-ID when it sends a sane one, else a new uuid.

    The id is on `request.request_id`, on every log record written while the request runs (RequestIdLogFilter),
    and on the response's X-Request-ID header, so a member's error report leads to its log lines.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request.request_id = incoming if _ACCEPTABLE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = _request_id.set(request.request_id)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response[REQUEST_ID_HEADER] = request.request_id
        return response


class RequestIdLogFilter(logging.Filter):
    """Adds `request_id` to every log record ("-" outside a request: Celery tasks, commands)."""

    def filter(self, record):
        record.request_id = _request_id.get()
        return True
