"""Rate limits of the public site: fixed-window counters in the Django cache (Redis in production).

Each limit is a setting "N/period" (`second`, `minute`, `hour`, `day`) declared in settings/base.py, and
says what happens when the cache cannot be reached:
- fail open (allowed, with a warning in the log) where the limit only protects capacity and something
  else still holds: sign-up, password reset, OTP checks (the code itself burns after OTP_MAX_ATTEMPTS);
- fail closed (refused) where the limit must hold: SMS sends, which cost money per message.
Referral visits are counted once per visitor (referral code + client IP) per day; with no cache they are
not counted at all (no inflation), the link still works.
The log-in limit is not here: it lives in the database (backoffice.login_policy).
"""

import dataclasses
import hashlib
import logging
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from backoffice.net import client_ip  # noqa: F401 (the one client address, behind trusted proxies)

logger = logging.getLogger(__name__)

PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


@dataclasses.dataclass(frozen=True)
class Limit:
    name: str
    read_rate: Callable[[], str]  # reads the setting holding "N/period" (at each call, so tests can override it)
    fail_open: bool

    def rate(self):
        count, _, period = self.read_rate().partition("/")
        return int(count), PERIODS[period.strip().rstrip("s")]


SIGNUP_PER_IP = Limit("signup-ip", lambda: settings.SIGNUP_RATE_PER_IP, fail_open=True)
SMS_PER_IP = Limit("sms-ip", lambda: settings.SMS_RATE_PER_IP, fail_open=False)
SMS_PER_NUMBER = Limit("sms-number", lambda: settings.SMS_RATE_PER_NUMBER, fail_open=False)
PASSWORD_RESET_PER_IP = Limit("reset-ip", lambda: settings.PASSWORD_RESET_RATE_PER_IP, fail_open=True)
PASSWORD_RESET_PER_EMAIL = Limit("reset-email", lambda: settings.PASSWORD_RESET_RATE_PER_EMAIL, fail_open=True)
OTP_CHECKS_PER_IP = Limit("otp-check-ip", lambda: settings.OTP_CHECK_RATE_PER_IP, fail_open=True)


def _key(name, value):
    return f"growth:rl:{name}:{hashlib.sha256(str(value).encode()).hexdigest()[:32]}"


class CacheUnavailable(Exception):
    """The cache did not answer: each limit then makes its own fail-open or fail-closed decision."""


def _hit(key, window_seconds):
    """Count one event in the window starting at the first event; returns the count so far."""
    added = cache.add(key, 1, window_seconds)
    if added is None:  # django-redis (IGNORE_EXCEPTIONS) answers None, not False, when Redis is down
        raise CacheUnavailable(key)
    if added:
        return 1
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, window_seconds)
        return 1
    if count is None:
        raise CacheUnavailable(key)
    return count


def allow(limit, value):
    """Count one event for `value` (an IP, a phone number, an email) and say whether it is within `limit`."""
    count, window = limit.rate()
    try:
        return _hit(_key(limit.name, value), window) <= count
    except Exception:  # the cache is down: the limit's own decision
        logger.warning(
            "rate limit %s: cache unavailable, %s", limit.name, "allowing" if limit.fail_open else "refusing"
        )
        return limit.fail_open


def first_visit_today(code, ip):
    """True the first time today this visitor opens this referral link (False when the cache is down)."""
    key = _key("referral-visit", f"{code}|{ip}|{timezone.localdate().isoformat()}")
    try:
        return bool(cache.add(key, 1, PERIODS["day"]))
    except Exception:
        logger.warning("referral visit counting: cache unavailable, visit not counted")
        return False
