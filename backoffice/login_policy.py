"""One login policy for every login form: the public `/accounts/login/`, Wagtail's `/admin/login/` and the
Django admin's `/django-admin/login/` all authenticate through `LoginPolicyBackend`.

Why: each form used to have its own limit, or none, so a lockout on one was bypassed through another.
The policy:
- Each attempt is counted under two keys: the identifier, normalised the way the forms normalise it
  (NFKC, then casefold, so Unicode compatibility forms and case variants are one key), and the client IP
  (`backoffice.net.client_ip`, behind `TRUSTED_PROXY_COUNT` proxies).
- An attempt is counted BEFORE its password is checked, in one transaction with the key rows locked, so
  N parallel wrong passwords check at most `LOGIN_FAILURES_PER_IDENTIFIER` of them. A successful log-in
  clears its identifier's count and gives back its IP reservation.
- Past `LOGIN_FAILURES_PER_IDENTIFIER` (5) attempts for an identifier or `LOGIN_FAILURES_PER_IP` (30) for
  an address within `LOGIN_LOCKOUT_SECONDS` (15 min, counted from the first attempt), the password is not
  checked at all and every form answers the same 429 page, right password or wrong: no oracle.
- Counts live in the database (`LoginAttemptWindow`), not the cache, so the policy holds when the cache is
  down or flushed.
Decision: an identifier can be locked by anybody who knows it (for 15 minutes); the per-IP limit bounds how
many accounts one address can lock, and staff can clear a lock by deleting its rows.
"""

import datetime
import hashlib
import logging
import unicodedata

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F
from django.template.response import TemplateResponse
from django.utils import timezone

from .models import LoginAttemptWindow
from .net import client_ip

logger = logging.getLogger(__name__)


class LoginLocked(PermissionDenied):
    """Too many attempts for this identifier or address: the password was not checked."""


def normalise_identifier(value):
    return unicodedata.normalize("NFKC", str(value or "")).strip().casefold()


def _keys(identifier, ip):
    digest = hashlib.sha256(normalise_identifier(identifier).encode()).hexdigest()
    return {f"id:{digest}": settings.LOGIN_FAILURES_PER_IDENTIFIER, f"ip:{ip}": settings.LOGIN_FAILURES_PER_IP}


def reserve_attempt(*, identifier, ip, now=None):
    """Count one attempt under both keys; False (and nothing counted) when either key is at its limit."""
    now = now or timezone.now()
    limits = _keys(identifier, ip)
    window = datetime.timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)
    with transaction.atomic():
        for key in limits:
            LoginAttemptWindow.objects.get_or_create(key=key, defaults={"window_started_at": now})
        rows = list(LoginAttemptWindow.objects.select_for_update().filter(key__in=limits).order_by("key"))
        for row in rows:
            if row.window_started_at + window <= now:
                row.attempts, row.window_started_at = 0, now
        if any(row.attempts >= limits[row.key] for row in rows):
            for row in rows:
                row.save(update_fields=["attempts", "window_started_at"])
            return False
        for row in rows:
            row.attempts += 1
            row.save(update_fields=["attempts", "window_started_at"])
    return True


def record_success(identifier, ip):
    """A right password: the identifier starts afresh, and the address gets its reservation back."""
    id_key, ip_key = _keys(identifier, ip)
    LoginAttemptWindow.objects.filter(key=id_key).delete()
    LoginAttemptWindow.objects.filter(key=ip_key, attempts__gt=0).update(attempts=F("attempts") - 1)


class LoginPolicyBackend(ModelBackend):
    """Django's ModelBackend behind the login policy above (the only entry in AUTHENTICATION_BACKENDS)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:  # no client to count (management commands, tests of the model backend)
            return super().authenticate(request, username=username, password=password, **kwargs)
        if username is None:
            username = kwargs.get(self._username_field())
        ip = client_ip(request)
        if not reserve_attempt(identifier=username, ip=ip):
            request.login_locked = True
            logger.warning("login locked for an identifier from %s", ip)
            raise LoginLocked("Too many log-in attempts.")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None:
            record_success(username, ip)
        return user

    @staticmethod
    def _username_field():
        from django.contrib.auth import get_user_model

        return get_user_model().USERNAME_FIELD


class LoginLockedMiddleware:
    """Answer a locked log-in with the same 429 page on every login form, whatever the password was."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(request, "login_locked", False):
            minutes = max(1, settings.LOGIN_LOCKOUT_SECONDS // 60)
            response = TemplateResponse(request, "backoffice/login_locked.html", {"minutes": minutes}, status=429)
            response.render()
        return response
