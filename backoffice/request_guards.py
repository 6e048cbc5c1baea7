"""Hostile request bodies answered with a clear 4xx before any view sees them (never a 500).

- An API request whose declared body is larger than DATA_UPLOAD_MAX_MEMORY_SIZE gets 413 in the API's
  error shape (Django's own refusal comes later, as an HTML 400).
- A form post carrying NUL characters gets 400: PostgreSQL text cannot hold them, so any lookup or save
  with one would fail. (Query strings are checked by backoffice.middleware.RejectNullCharactersMiddleware.)
"""

from django.conf import settings
from django.http import HttpResponseBadRequest, JsonResponse

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def api_error(status, code, message):
    return JsonResponse({"error": {"code": code, "message": message, "details": {}}}, status=status)


class RequestGuardsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        is_api = request.path.startswith("/api/")
        if is_api and self._declared_length(request) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            limit_mb = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1024 // 1024
            return api_error(413, "payload_too_large", f"The request body is larger than {limit_mb} MB.")
        is_form_post = request.method == "POST" and request.content_type in FORM_TYPES
        if not is_api and is_form_post and self._form_has_nul(request):
            return HttpResponseBadRequest("Form fields may not contain NUL characters.")
        return self.get_response(request)

    @staticmethod
    def _declared_length(request):
        try:
            return int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return 0

    @staticmethod
    def _form_has_nul(request):
        try:
            data = request.POST
        except Exception:  # too big or malformed: Django's own handling answers it later
            return False
        return any("\x00" in key or "\x00" in value for key, values in data.lists() for value in values)
