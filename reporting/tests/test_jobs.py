import contextlib
import datetime
import json

import pytest
from django.utils import timezone

from backoffice import jobs, outbound
from backoffice.models import TaskRun
from backoffice.testing.servers import ScriptedHTTPServer, refused_port
from reporting import services, tasks
from reporting.models import DailyListEntry, DailyStat

pytestmark = pytest.mark.django_db

YESTERDAY = timezone.localdate() - datetime.timedelta(days=1)


LIST = "/list.csv"


@pytest.fixture
def serve():
    """serve(*answers): a server on 127.0.0.1 answering LIST with each (status, content type, body) in turn, the last
    one repeated."""
    with contextlib.ExitStack() as servers:

        def start(*answers):
            server = servers.enter_context(ScriptedHTTPServer())
            for status, content_type, body in answers:
                server.respond(LIST, status=status, content_type=content_type, body=body)
            return server

        yield start


CSV_OK = (200, "text/csv", b"sku,name\nA1,Alpha\nB2,Beta\n")
SERVER_ERROR = (500, "text/plain", b"boom")


def test_a_successful_run_is_recorded_with_its_row_count():
    tasks.rollup_daily.delay(day=YESTERDAY.isoformat())
    run = TaskRun.objects.get()
    assert (run.task_name, run.status, run.attempt, run.rows, run.error) == (
        "reporting.tasks.rollup_daily",
        TaskRun.Status.SUCCEEDED,
        1,
        1,
        "",
    )
    assert run.finished_at is not None
    assert DailyStat.objects.filter(date=YESTERDAY).exists()


def test_the_rollup_task_defaults_to_yesterday():
    tasks.rollup_daily.delay()
    assert list(DailyStat.objects.values_list("date", flat=True)) == [YESTERDAY]


def test_the_rollup_task_can_redo_several_days():
    tasks.rollup_daily.delay(day=YESTERDAY.isoformat(), days=3)
    assert DailyStat.objects.count() == 3


@pytest.mark.parametrize("kwargs", [{"day": "yesterday"}, {"day": "2026-02-30"}, {"days": 0}, {"days": "7"}])
def test_bad_task_arguments_fail_once_with_a_clear_error(kwargs):
    with pytest.raises(services.PermanentJobError):
        tasks.rollup_daily.delay(**kwargs)
    run = TaskRun.objects.get()
    assert run.status == TaskRun.Status.FAILED
    assert run.attempt == 1
    assert run.error


def test_the_daily_list_is_downloaded_and_stored(serve):
    server = serve(CSV_OK)
    tasks.download_daily_list.delay(url=server.url(LIST))
    assert list(DailyListEntry.objects.order_by("line_number").values_list("data", flat=True)) == [
        {"sku": "A1", "name": "Alpha"},
        {"sku": "B2", "name": "Beta"},
    ]
    assert TaskRun.objects.get().rows == 2


def test_a_json_list_is_accepted(serve):
    server = serve((200, "application/json", json.dumps([{"id": 1}, {"id": 2}, {"id": 3}]).encode()))
    assert tasks.download_daily_list.delay(url=server.url(LIST)).get() == 3


def test_downloading_the_same_day_again_replaces_its_rows(serve):
    server = serve(CSV_OK)
    tasks.download_daily_list.delay(url=server.url(LIST))
    tasks.download_daily_list.delay(url=server.url(LIST))
    assert DailyListEntry.objects.count() == 2


def test_the_url_comes_from_settings_by_default(serve, settings):
    settings.DAILY_LIST_URL = serve(CSV_OK).url(LIST)
    tasks.download_daily_list.delay()
    assert DailyListEntry.objects.count() == 2


def test_a_failing_download_is_retried_and_each_attempt_recorded(serve):
    server = serve(SERVER_ERROR, SERVER_ERROR, CSV_OK)
    tasks.download_daily_list.delay(url=server.url(LIST))
    runs = list(TaskRun.objects.order_by("attempt").values_list("attempt", "status"))
    assert runs == [(1, "retrying"), (2, "retrying"), (3, "succeeded")]
    assert "The server answered HTTP 500." in TaskRun.objects.get(attempt=1).error
    assert DailyListEntry.objects.count() == 2


def test_a_download_that_keeps_failing_ends_failed_with_its_error(serve):
    server = serve(SERVER_ERROR)
    with pytest.raises(Exception, match="HTTP 500"):
        tasks.download_daily_list.delay(url=server.url(LIST))
    assert len(server.requests) == jobs.DEFAULT_MAX_RETRIES + 1
    last = TaskRun.objects.order_by("-attempt").first()
    assert (last.attempt, last.status) == (jobs.DEFAULT_MAX_RETRIES + 1, TaskRun.Status.FAILED)
    assert "The server answered HTTP 500." in last.error
    assert not DailyListEntry.objects.exists()


def test_an_unreachable_server_is_retried():
    url = f"http://127.0.0.1:{refused_port()}{LIST}"
    with pytest.raises(outbound.OutboundRetryable):
        tasks.download_daily_list.delay(url=url)
    assert "refused" not in TaskRun.objects.order_by("-attempt").first().error.lower()
    assert TaskRun.objects.filter(status=TaskRun.Status.RETRYING).count() == jobs.DEFAULT_MAX_RETRIES


@pytest.mark.parametrize(
    "body, message",
    [
        (b"", "no header row"),
        (b"sku,sku\nA,B\n", "repeats a column"),
        (b"sku,name\nA1\n", "Line 2"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"[1, 2]", "array of objects"),
        (b"[{", "not valid JSON"),
    ],
)
def test_a_malformed_list_fails_without_retrying_and_keeps_the_old_rows(serve, body, message):
    DailyListEntry.objects.create(list_date=timezone.localdate(), line_number=1, data={"kept": True})
    server = serve((200, "text/csv", body))
    with pytest.raises(services.PermanentJobError, match=message):
        tasks.download_daily_list.delay(url=server.url(LIST))
    assert len(server.requests) == 1
    assert TaskRun.objects.get().status == TaskRun.Status.FAILED
    assert DailyListEntry.objects.get().data == {"kept": True}


@pytest.mark.parametrize("url", ["", "file:///etc/passwd", "ftp://example.test/list.csv"])
def test_a_missing_or_non_http_url_is_refused(url, settings):
    settings.DAILY_LIST_URL = ""
    with pytest.raises(services.PermanentJobError):
        tasks.download_daily_list.delay(url=url)


def test_back_off_doubles_up_to_an_hour():
    assert [jobs.retry_delay(n, base=60) for n in range(8)] == [60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_on_a_worker_a_failure_is_requeued_with_exponential_back_off(serve, monkeypatch):
    from celery.exceptions import Retry

    server = serve(SERVER_ERROR)
    task = tasks.download_daily_list
    requeued = []

    def fake_retry(exc=None, countdown=None, **options):
        requeued.append(countdown)
        return Retry(exc=exc, when=countdown)

    monkeypatch.setattr(task, "retry", fake_retry)
    task.push_request(id="worker-task", retries=2, is_eager=False, called_directly=False)
    try:
        with pytest.raises(Retry):
            task.run(url=server.url(LIST))
    finally:
        task.pop_request()
    assert requeued == [jobs.retry_delay(2)]
    run = TaskRun.objects.get()
    assert (run.task_id, run.attempt, run.status) == ("worker-task", 3, TaskRun.Status.RETRYING)
    assert f"Retrying in {jobs.retry_delay(2)} s." in run.error


def test_a_daily_list_at_a_loopback_address_is_refused_and_not_retried(serve, settings):
    server = serve(CSV_OK)
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    with pytest.raises(services.PermanentJobError, match="not allowed"):
        tasks.download_daily_list.delay(url=server.url(LIST))
    assert len(server.requests) == 0
    assert TaskRun.objects.get().status == TaskRun.Status.FAILED
