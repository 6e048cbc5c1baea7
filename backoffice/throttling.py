"""DRF throttles for every API endpoint (DEFAULT_THROTTLE_CLASSES), keyed on backoffice.net.client_ip.

They protect capacity only (every write behind them has its own database guard), so when the cache is
down they let the request through and log a warning instead of answering 500.

Each client's allowance is a token bucket (`rate` requests of burst, refilled evenly over the period) kept
as two numbers in the cache. DRF's own throttles keep a log of every request's time and read and write
the whole log on every request: at 600/minute that is 600 floats pickled both ways per call, the single
largest cost of a cached API list (bench/http_load.py).
"""

import logging

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache import cache as default_cache
from django_redis.cache import RedisCache
from rest_framework import throttling

from .net import client_ip

logger = logging.getLogger(__name__)


# The bucket read, refilled, spent and written back inside Redis: one round trip, and atomic (two requests of one
# client can't both spend the last token, which the get-then-set of other caches allows).
_BUCKET_LUA = """
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local capacity, per_second, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * per_second)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
return {allowed, tostring(tokens)}
"""
_bucket_scripts = {}  # Redis client -> its registered script (one per cache connection pool)


def _spend_in_redis(cache, key, capacity, duration, now):
    """(allowed, tokens left) from Redis, or None when the cache is not Redis (then: get and set)."""
    backend = caches[DEFAULT_CACHE_ALIAS] if cache is default_cache else cache  # DRF's is the default's proxy
    if not isinstance(backend, RedisCache):
        return None
    client = backend.client.get_client(write=True)
    script = _bucket_scripts.get(id(client))
    if script is None:
        script = _bucket_scripts[id(client)] = client.register_script(_BUCKET_LUA)
    allowed, tokens = script(keys=[backend.make_key(key)], args=[capacity, capacity / duration, now, int(duration) + 1])
    return bool(allowed), float(tokens)


class _TokenBucket(throttling.SimpleRateThrottle):
    """SimpleRateThrottle's rate, scope and key, with a constant-size state: (tokens left, when counted)."""

    cache_format = "throttle-bucket_%(scope)s_%(ident)s"  # not DRF's keys, which hold its request logs

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        now = self.timer()
        spent = _spend_in_redis(self.cache, self.key, self.num_requests, self.duration, now)
        if spent is not None:
            allowed, tokens = spent
            if not allowed:
                self.seconds_to_next = (1 - tokens) * self.duration / self.num_requests
            return allowed
        tokens, counted_at = self.cache.get(self.key) or (self.num_requests, now)
        tokens = min(self.num_requests, tokens + (now - counted_at) * self.num_requests / self.duration)
        if tokens < 1:
            self.seconds_to_next = (1 - tokens) * self.duration / self.num_requests
            return False
        self.cache.set(self.key, (tokens - 1, now), self.duration)
        return True

    def wait(self):
        return getattr(self, "seconds_to_next", None)


class _FailOpen:
    def get_ident(self, request):
        return client_ip(request)

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except Exception:
            logger.warning("API throttle %s: cache unavailable, allowing", type(self).__name__)
            return True


class AnonRateThrottle(_FailOpen, throttling.AnonRateThrottle, _TokenBucket):
    pass


class UserRateThrottle(_FailOpen, throttling.UserRateThrottle, _TokenBucket):
    """Members only: an anonymous caller is already held to the stricter anon rate under the same IP key."""

    def get_cache_key(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return None
        return super().get_cache_key(request, view)


class ScopedRateThrottle(_FailOpen, throttling.ScopedRateThrottle, _TokenBucket):
    pass
