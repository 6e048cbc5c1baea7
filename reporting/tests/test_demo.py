import pytest

from backoffice.models import TaskRun
from reporting import demo
from reporting.models import DailyStat

pytestmark = pytest.mark.django_db


def test_the_demo_rolls_up_the_last_30_days_and_can_run_again():
    demo.load(lambda message: None)
    first = list(DailyStat.objects.values_list("date", "downloads"))
    demo.load(lambda message: None)
    assert list(DailyStat.objects.values_list("date", "downloads")) == first
    assert len(first) == demo.DEMO_DAYS
    assert TaskRun.objects.filter(status=TaskRun.Status.SUCCEEDED).count() == 2
