"""Fixed-window counters in the Django cache (Redis in production) for login and OTP rate limits."""

from django.core.cache import cache

from backoffice.net import client_ip  # noqa: F401 (the one client address, behind trusted proxies)


def count(key):
    return cache.get(key, 0)


def hit(key, window_seconds):
    """Count one event in the window starting at the first event; returns the count so far."""
    if cache.add(key, 1, window_seconds):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, window_seconds)
        return 1
