"""The product's URLs plus a trivial view: the baseline for bench/http_load.py.

The trivial view runs through exactly the middleware every page pays (sessions, CSRF, auth, OTP, messages,
history...), so "page rate / trivial rate" is what the page itself costs. The signed-in trivial view also reads
`request.user`: the session and user rows every signed-in request loads, the floor of the member API.
"""

from django.http import HttpResponse
from django.urls import include, path


def trivial(request):
    return HttpResponse("ok", content_type="text/plain")


def signed_in(request):
    return HttpResponse(str(request.user.pk), content_type="text/plain")


urlpatterns = [
    path("bench/trivial/", trivial),
    path("bench/signed-in/", signed_in),
    path("", include("backoffice.urls")),
]
