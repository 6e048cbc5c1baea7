"""Serving uploaded files outside DEBUG.

Public media on local disk is served by `public_media` (S3 serves its own). Private files are served only by
`private_media`, after a Wagtail hook `authorize_private_media` registered by the app owning the file says yes.
"""

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe
from django.views.static import serve
from wagtail import hooks

from backoffice.storage import private_storage

PUBLIC_MEDIA_MAX_AGE = 60 * 60 * 24  # stored names are random and never reused, so browsers may keep them a day


@require_safe
def public_media(request, path):
    try:
        response = serve(request, path, document_root=settings.MEDIA_ROOT)
    except SuspiciousFileOperation as outside:
        raise Http404 from outside
    patch_cache_control(response, public=True, max_age=PUBLIC_MEDIA_MAX_AGE)
    response["X-Content-Type-Options"] = "nosniff"
    return response


def may_view_private_file(user, name):
    """True when one of the apps owning private files grants `user` the file `name`.

    Each hook is `fn(user, name)` returning True (this user may see it), or None (not my file / no).
    """
    return user.is_authenticated and any(fn(user, name) for fn in hooks.get_hooks("authorize_private_media"))


@require_safe
def private_media(request, name):
    """The owner and authorised staff get the file; everybody else, signed in or not, a 404 that leaks nothing."""
    if not may_view_private_file(request.user, name):
        raise Http404
    storage = private_storage()
    try:
        signed = storage.signed_url(name)
        response = HttpResponseRedirect(signed) if signed else FileResponse(storage.open(name, "rb"))
    except (FileNotFoundError, SuspiciousFileOperation) as missing:
        raise Http404 from missing
    patch_cache_control(response, private=True, no_store=True)
    response["X-Content-Type-Options"] = "nosniff"
    return response
