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
