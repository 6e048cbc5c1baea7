"""A Redis cache outage costs one short timeout, not one per cache call; and versioned public-page caching.

django-redis (settings: `redis_cache`) turns Redis errors into cache misses and logs them. That alone would
still make every cache call of every request wait CACHE_READ_TIMEOUT while Redis accepts connections but never
answers. This connection class remembers, per process, that Redis just failed, and for CACHE_DOWN_SECONDS
fails every cache call at once instead; then it tries Redis again.
"""

import contextlib
import functools
import hashlib
import logging
import threading
import time
from collections import OrderedDict
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import cache
from django.http import HttpResponse
from django.utils.cache import patch_vary_headers
from redis.connection import Connection, ConnectionPool
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_down_until = 0.0


def mark_cache_down(error):
    """One warning per outage window (not one per cache call): pages are served uncached meanwhile."""
    global _down_until
    with _lock:
        was_up = not cache_marked_down()
        _down_until = time.monotonic() + settings.CACHE_DOWN_SECONDS
    if was_up:
        logger.warning(
            "Redis cache unreachable (%s): serving uncached, next try in %g s", error, settings.CACHE_DOWN_SECONDS
        )


def cache_marked_down():
    return time.monotonic() < _down_until


def forget_cache_failures():
    """For tests and after an operator fixed Redis: try it on the next call."""
    global _down_until
    with _lock:
        _down_until = 0.0


@contextlib.contextmanager
def _failure_marks_cache_down():
    """A connection, send or read that fails marks the cache down (then re-raises), so the next calls skip it."""
    try:
        yield
    except (RedisConnectionError, RedisTimeoutError, OSError) as error:
        mark_cache_down(error)
        raise


class FailFastConnection(Connection):
    def connect(self):
        if cache_marked_down():
            raise RedisConnectionError("Redis failed moments ago; the cache is skipped for a few seconds")
        with _failure_marks_cache_down():
            super().connect()

    def send_packed_command(self, *args, **kwargs):
        with _failure_marks_cache_down():
            return super().send_packed_command(*args, **kwargs)

    def read_response(self, *args, **kwargs):
        with _failure_marks_cache_down():
            return super().read_response(*args, **kwargs)


class FailFastConnectionPool(ConnectionPool):
    """django-redis's CONNECTION_POOL_CLASS: plain TCP connections that fail fast while Redis is down."""

    def __init__(self, connection_class=FailFastConnection, **kwargs):
        if connection_class is Connection:
            connection_class = FailFastConnection
        super().__init__(connection_class=connection_class, **kwargs)


# --- versioned caching of public content -----------------------------------------------------------------
#
# Cached public content names the versions of the data it shows ("catalog", "plans", "leaderboard"...). A write
# bumps its group's version (a signal receiver or the service, after commit), so every entry built from the old
# data is never read again and expires by itself. A version starts at the clock in nanoseconds, so a version
# key that Redis evicted never comes back as a number that was already used. While the cache is unreachable a
# version is None: nothing is cached or read (fail-open: pages are computed, never a 500).

_VERSION_KEY = "cache-version:{}"
_LOCAL_MAX_ENTRIES = 512  # per process: the public pages and lists most asked for
_local_lock = threading.Lock()
_local = OrderedDict()  # key -> (expires at, monotonic clock; value): versions and versioned values


def _local_get(key):
    with _local_lock:
        entry = _local.get(key)
        if entry is None or entry[0] < time.monotonic():
            return None
        _local.move_to_end(key)
        return entry[1]


def _local_set(key, value, seconds):
    if seconds <= 0:
        return
    with _local_lock:
        _local[key] = (time.monotonic() + seconds, value)
        _local.move_to_end(key)
        while len(_local) > _LOCAL_MAX_ENTRIES:
            _local.popitem(last=False)


def forget_local_cache():
    """For tests (each starts with empty caches) and after an operator flushed Redis."""
    with _local_lock:
        _local.clear()


def _quietly(call, *args, default=None):
    """A cache call that may fail (a cache configured to raise, not the production one, which answers misses)."""
    try:
        return call(*args)
    except Exception as error:  # any cache backend's error: the page is computed uncached
        logger.info("cache call %s failed (%s): uncached", getattr(call, "__name__", call), error)
        return default


def cache_versions(*groups):
    """{group: current version}, or None when the cache does not answer.

    A process trusts the versions it read for PUBLIC_CACHE_LOCAL_SECONDS (its own bumps at once), so a cached
    page costs no round trip to Redis at all: another process's write shows within that time.
    """
    keys = [_VERSION_KEY.format(group) for group in groups]
    found = {key: value for key in keys if (value := _local_get(key)) is not None}
    if len(found) < len(keys):
        found.update(_quietly(cache.get_many, [key for key in keys if key not in found], default={}))
        missing = [key for key in keys if key not in found]
        for key in missing:
            _quietly(cache.add, key, time.time_ns(), None)
        if missing:
            found.update(_quietly(cache.get_many, missing, default={}))
        if len(found) < len(keys):
            return None
        for key in keys:
            _local_set(key, found[key], settings.PUBLIC_CACHE_LOCAL_SECONDS)
    return {group: found[key] for group, key in zip(groups, keys, strict=True)}


def cache_version(group):
    versions = cache_versions(group)
    return versions[group] if versions else None


def bump_cache_version(group):
    """Everything cached under `group`'s current version becomes stale at once."""
    key = _VERSION_KEY.format(group)
    with _local_lock:
        _local.pop(key, None)
    try:
        cache.incr(key)
    except ValueError:  # no version yet (or evicted): a fresh one
        _quietly(cache.add, key, time.time_ns(), None)
    except Exception as error:  # the cache is down: entries under the old version expire by themselves
        logger.warning("cache version %s not bumped (%s): cached pages expire within their timeout", group, error)


def bump_on_change(group, *models, at_once=False):
    """Bump `group` when a save or delete of any of `models` commits (called from the owning app's ready()).

    `at_once=True` also bumps it at the write itself, for a group read again inside the writing transaction (an
    approval after a plan change in the same transaction must not use the old multiplier). The bump at commit stays:
    it stops a reader that rebuilt the value from the not-yet-committed rows in between from keeping it."""
    from django.db import transaction
    from django.db.models.signals import post_delete, post_save

    def receiver(**_kwargs):
        if at_once:
            bump_cache_version(group)
        transaction.on_commit(lambda: bump_cache_version(group))

    for model in models:
        for signal, action in ((post_save, "save"), (post_delete, "delete")):
            uid = f"cache-{group}-{model._meta.label_lower}-{action}"
            signal.connect(receiver, sender=model, weak=False, dispatch_uid=uid)


def _versioned_key(prefix, versions, parts):
    stamp = ".".join(f"{group}{version}" for group, version in sorted(versions.items()))
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=12).hexdigest()
    return f"{prefix}:{stamp}:{digest}"


def cached_versioned(prefix, groups, parts, build, seconds=None, versions=None):
    """build(), cached under the current versions of `groups` (or `versions`, when the caller already read them)
    and `parts` (what else the value depends on)."""
    versions = versions or cache_versions(*groups)
    if versions is None:
        return build()
    key = _versioned_key(prefix, versions, parts)
    value = _two_level_get(key)
    return value if value is not None else _two_level_set(key, build(), seconds)


def _two_level_get(key):
    """This process's copy (no round trip), else Redis's (then kept here too), else None."""
    value = _local_get(key)
    if value is None:
        value = _quietly(cache.get, key)
        if value is not None:
            _local_set(key, value, settings.PUBLIC_CACHE_LOCAL_SECONDS)
    return value


def _two_level_set(key, value, seconds=None):
    _quietly(cache.set, key, value, settings.PUBLIC_PAGE_CACHE_SECONDS if seconds is None else seconds)
    _local_set(key, value, settings.PUBLIC_CACHE_LOCAL_SECONDS)
    return value


def is_anonymous_visit(request):
    """A GET with no session and no pending message: the answer is the same for every such visitor."""
    return (
        request.method in ("GET", "HEAD")
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and CookieStorage.cookie_name not in request.COOKIES
    )


def _shareable(request, response):
    """A 200 that holds nothing of this visitor: no cookie set now or by the middleware on the way out (a CSRF
    token in a form, a session write, a message queued)."""
    messages = getattr(request, "_messages", None)
    session = getattr(request, "session", None)
    return (
        response.status_code == 200
        and not response.streaming
        and not response.cookies
        and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
        and not (session is not None and session.modified)
        and not (messages is not None and messages.added_new)
    )


def cached_anonymous_page(*groups, params=()):
    """Serve a public page's 200 answer to anonymous visitors from the cache.

    Keyed by the path, the query parameters in `params` (the only ones the view reads) and the versions of
    `groups`; kept PUBLIC_PAGE_CACHE_SECONDS. An answer that sets a cookie (a CSRF token, a session) is never
    stored. Every answer varies on Cookie, so no shared HTTP cache hands the anonymous page to a member.
    Members (a session cookie) get the view itself.
    """

    def decorator(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if not is_anonymous_visit(request):
                return view(request, *args, **kwargs)
            versions = cache_versions(*groups)
            if versions is None:
                return view(request, *args, **kwargs)
            query = urlencode([(name, request.GET.getlist(name)) for name in params if name in request.GET], True)
            key = _versioned_key("page", versions, (request.path, query))
            stored = _two_level_get(key)
            if stored is not None:
                content, content_type = stored
                response = HttpResponse(content, content_type=content_type)
            else:
                response = view(request, *args, **kwargs)
                if _shareable(request, response):
                    _two_level_set(key, (response.content, response["Content-Type"]))
            patch_vary_headers(response, ["Cookie"])
            return response

        return wrapper

    return decorator
