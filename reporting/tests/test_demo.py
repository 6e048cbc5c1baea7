import pytest

from backoffice.demo import DAYS
from backoffice.models import TaskRun
from reporting import demo
from reporting.models import DailyStat

pytestmark = pytest.mark.django_db


def test_the_demo_rolls_up_the_whole_demo_period_and_can_run_again():
    demo.load(lambda message: None)
    first = list(DailyStat.objects.values_list("date", "downloads"))
    demo.load(lambda message: None)
    assert list(DailyStat.objects.values_list("date", "downloads")) == first
    assert len(first) == DAYS


def test_the_demo_records_one_failed_feed_run_for_the_failing_jobs_panel():
    demo.load(lambda message: None)
    demo.load(lambda message: None)
    assert TaskRun.objects.filter(task_name=demo.FEED_TASK, status=TaskRun.Status.FAILED).count() == 1
