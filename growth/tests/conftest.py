import pytest
from django.core.cache import cache

from growth.sms import ConsoleSMSBackend


@pytest.fixture(autouse=True)
def fresh_cache_and_outbox():
    """Throttles, rate limits and the leaderboard live in the cache; SMS codes in the console outbox."""
    cache.clear()
    ConsoleSMSBackend.outbox.clear()
    yield
    cache.clear()
