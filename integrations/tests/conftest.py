import pytest


@pytest.fixture(autouse=True)
def no_sync_lag(settings):
    """Rows are served at once (no sync lag) unless a test sets one. (Caches are emptied by the root conftest's
    fresh_cache, which also forgets each process's local copy: a fixture of the same name here would shadow it.)"""
    settings.DATA_API_SYNC_LAG_SECONDS = 0
