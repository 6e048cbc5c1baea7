"""A Redis cache outage costs one short timeout, not one per cache call.

django-redis (settings: `redis_cache`) turns Redis errors into cache misses and logs them. That alone would
still make every cache call of every request wait CACHE_READ_TIMEOUT while Redis accepts connections but never
answers. This connection class remembers, per process, that Redis just failed, and for CACHE_DOWN_SECONDS
fails every cache call at once instead; then it tries Redis again.
"""

import logging
import threading
import time

from django.conf import settings
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


class FailFastConnection(Connection):
    def connect(self):
        if cache_marked_down():
            raise RedisConnectionError("Redis failed moments ago; the cache is skipped for a few seconds")
        try:
            super().connect()
        except (RedisConnectionError, RedisTimeoutError, OSError) as error:
            mark_cache_down(error)
            raise

    def send_packed_command(self, *args, **kwargs):
        try:
            return super().send_packed_command(*args, **kwargs)
        except (RedisConnectionError, RedisTimeoutError, OSError) as error:
            mark_cache_down(error)
            raise

    def read_response(self, *args, **kwargs):
        try:
            return super().read_response(*args, **kwargs)
        except (RedisConnectionError, RedisTimeoutError, OSError) as error:
            mark_cache_down(error)
            raise


class FailFastConnectionPool(ConnectionPool):
    """django-redis's CONNECTION_POOL_CLASS: plain TCP connections that fail fast while Redis is down."""

    def __init__(self, connection_class=FailFastConnection, **kwargs):
        if connection_class is Connection:
            connection_class = FailFastConnection
        super().__init__(connection_class=connection_class, **kwargs)
