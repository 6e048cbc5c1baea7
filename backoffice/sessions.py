"""Sessions kept in the database and read through the cache, for at most SESSION_CACHE_SECONDS.

Every signed-in request loads its session. From the database that is a query per request; Django's `cached_db`
engine reads it from the cache instead, but keeps the copy for the session's whole life (two weeks). A logout whose
cache delete is lost (Redis unreachable: `backoffice.cache` turns failures into misses and no-ops) would then leave
the logged-out session usable from the cache until it expires. Here the cached copy lives SESSION_CACHE_SECONDS at
most: a logout missed by the cache is forgotten within that bound, and the database stays the record (a cache
outage signs nobody out; a request that misses the cache reads the database).

What a session grants is checked against the user row on every request as before (Django compares the session's
password hash, and the auth backend refuses an inactive user): a password change or a deactivation takes effect at
once, cached session or not.

Used when the cache is shared (REDIS_URL); with the per-process local-memory cache a logout in one process could not
reach another's copy, so sessions are read from the database there (settings).
"""

from django.conf import settings
from django.contrib.sessions.backends import cached_db
from django.core.cache.backends.base import DEFAULT_TIMEOUT


class _BoundedCache:
    """The session cache with every timeout capped at SESSION_CACHE_SECONDS (the rest passes through)."""

    def __init__(self, cache):
        self._cache = cache

    @staticmethod
    def _bounded(timeout):
        if timeout is None or timeout is DEFAULT_TIMEOUT:  # "forever" or the cache's default: the bound instead
            return settings.SESSION_CACHE_SECONDS
        return min(timeout, settings.SESSION_CACHE_SECONDS)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT):
        return self._cache.set(key, value, self._bounded(timeout))

    async def aset(self, key, value, timeout=DEFAULT_TIMEOUT):
        return await self._cache.aset(key, value, self._bounded(timeout))

    def __contains__(self, key):
        return key in self._cache

    def __getattr__(self, name):
        return getattr(self._cache, name)


class SessionStore(cached_db.SessionStore):
    """Django's `cached_db` sessions, with the cached copy bounded to SESSION_CACHE_SECONDS."""

    def __init__(self, session_key=None):
        super().__init__(session_key)
        self._cache = _BoundedCache(self._cache)
