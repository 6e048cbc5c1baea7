"""The product's URLs plus a trivial view: the baseline for bench/http_load.py.

The trivial view runs through exactly the middleware every page pays (sessions, CSRF, auth, OTP, messages,
history...), so "page rate / trivial rate" is what the page itself costs. The signed-in trivial view also reads
`request.user`: the session and user rows every signed-in request loads. The API floor adds what every member API
request pays on top (DRF, its throttle): the floor of the member API.
"""

from django.http import HttpResponse
from django.urls import include, path
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView


def trivial(request):
    return HttpResponse("ok", content_type="text/plain")


def signed_in(request):
    return HttpResponse(str(request.user.pk), content_type="text/plain")


class ApiFloor(APIView):
    """What every member API request pays before its own work: DRF's dispatch with the project's authentication and
    throttles (backoffice.throttling, one Redis round trip), a signed-in member, a JSON answer."""

    permission_classes = [IsAuthenticated]

    def get(self, request):
        return Response({"user": request.user.pk})


urlpatterns = [
    path("bench/trivial/", trivial),
    path("bench/signed-in/", signed_in),
    path("bench/api-floor/", ApiFloor.as_view()),
    path("", include("backoffice.urls")),
]
