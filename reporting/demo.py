"""Demo: roll up the whole demo period, so the Business reports page reads rollups from the first `make run`.

Also one failed run of the competitor feed, as a real deployment has now and then, so the admin's home shows its
"Failing jobs" panel with something in it.
"""

import datetime

from django.utils import timezone

from backoffice.demo import DAYS
from backoffice.models import TaskRun

from . import services
from .models import DailyStat

FEED_TASK = "catalog.tasks.import_competitor_prices"


def load(out):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    rows = services.rollup_days(start=yesterday - datetime.timedelta(days=DAYS - 1), end=yesterday)
    if not TaskRun.objects.filter(task_name=FEED_TASK).exists():
        TaskRun.objects.create(
            task_name=FEED_TASK,
            status=TaskRun.Status.FAILED,
            error="Competitor 'PriceSpy' feed: connection timed out after 10 s.",
        )
    out(f"reporting: rolled up the last {DAYS} days ({rows} rows; {DailyStat.objects.count()} days stored)")
