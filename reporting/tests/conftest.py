import pytest


@pytest.fixture(autouse=True)
def live_figures_not_cached(settings):
    """Each test counts today afresh (the cache is shared by the whole test process)."""
    settings.REPORTING_LIVE_CACHE_SECONDS = 0
