import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def fresh_cache(settings):
    """Throttles live in the cache; rows are served at once (no sync lag) unless a test sets one."""
    settings.DATA_API_SYNC_LAG_SECONDS = 0
    cache.clear()
    yield
    cache.clear()
