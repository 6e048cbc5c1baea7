"""Demo: roll up the last 30 days so the Business reports page reads rollups from the first `make run`."""

from .models import DailyStat
from .tasks import rollup_daily

DEMO_DAYS = 30


def load(out):
    rows = rollup_daily.apply(kwargs={"days": DEMO_DAYS}).get()
    out(f"reporting: rolled up the last {DEMO_DAYS} days ({rows} rows; {DailyStat.objects.count()} days stored)")
