import datetime

import pytest
from django.utils import timezone


@pytest.fixture(autouse=True)
def live_figures_not_cached(settings):
    """Each test counts today afresh (the cache is shared by the whole test process)."""
    settings.REPORTING_LIVE_CACHE_SECONDS = 0


@pytest.fixture(autouse=True)
def today_is_the_day_the_test_runs(request, monkeypatch):
    """A module's `TODAY` and `YESTERDAY` are set again as each test starts: read once at import, they were the
    day before for every test of a run that crossed midnight, while the code under test counts the new day."""
    today = timezone.localdate()
    for name, day in (("TODAY", today), ("YESTERDAY", today - datetime.timedelta(days=1))):
        if hasattr(request.module, name):
            monkeypatch.setattr(request.module, name, day)
