import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def fresh_cache():
    """Throttles live in the cache."""
    cache.clear()
    yield
    cache.clear()
