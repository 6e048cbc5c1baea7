import re
from pathlib import Path

import pytest
from django.conf import settings
from django.template import engines
from django.urls import URLResolver, get_resolver
from rest_framework.views import APIView

from backoffice.images import placeholder_png
from catalog.tests.factories import AppFactory
from moderation.tests.factories import ScreenshotProofFactory


def iter_views(patterns=None, prefix=""):
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            yield from iter_views(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern.callback


def is_api_view(callback):
    """DRF views are csrf_exempt at the Django level; SessionAuthentication enforces CSRF itself."""
    view_class = getattr(callback, "cls", None)
    return view_class is not None and issubclass(view_class, APIView)


def test_csrf_middleware_is_on():
    assert "django.middleware.csrf.CsrfViewMiddleware" in settings.MIDDLEWARE


# OAuth2 endpoints called by services with client credentials in the request (no cookie, so nothing to forge).
CLIENT_CREDENTIAL_ROUTES = {"oauth/token/", "oauth/revoke_token/"}


def test_no_project_view_is_exempt_from_csrf():
    exempt = [
        route
        for route, callback in iter_views()
        if getattr(callback, "csrf_exempt", False) and not is_api_view(callback)
    ]
    assert sorted(set(exempt) - CLIENT_CREDENTIAL_ROUTES) == []


def test_api_session_authentication_enforces_csrf():
    from rest_framework.authentication import SessionAuthentication

    assert (
        "rest_framework.authentication.SessionAuthentication"
        in settings.REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]
    )
    assert hasattr(SessionAuthentication, "enforce_csrf")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "make, folder",
    [
        (lambda: AppFactory(image=placeholder_png(name="../../templates/base.html.png")).image, "apps"),
        (lambda: ScreenshotProofFactory(image=placeholder_png(name="<script>.png")).image, "proofs"),
    ],
)
def test_uploads_are_stored_under_random_names(make, folder):
    name = make().name
    assert re.fullmatch(rf"{folder}/\d{{4}}/\d{{2}}/[0-9a-f]{{32}}\.png", name), name


def test_uploads_live_outside_every_template_directory():
    media = Path(settings.MEDIA_ROOT).resolve()
    template_dirs = [Path(d).resolve() for engine in engines.all() for d in engine.template_dirs]
    assert not [d for d in template_dirs if media == d or d in media.parents or media in d.parents]
