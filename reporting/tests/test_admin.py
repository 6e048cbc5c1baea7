import csv
import datetime
import io
import json
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from backoffice.models import TaskRun
from backoffice.tests.factories import moderator
from reporting import services
from reporting.tests.factories import generate_activity

pytestmark = pytest.mark.django_db

REPORTS = "/admin/business-reports/"
TODAY = timezone.localdate()
YESTERDAY = TODAY - datetime.timedelta(days=1)


def assert_refused(response):
    """Wagtail answers a permission denial inside the admin with a redirect to the admin home (or a 403)."""
    assert response.status_code in (302, 403)
    if response.status_code == 302:
        assert response["Location"] in ("/admin/", "/admin/login/") or response["Location"].startswith("/admin/login/")


def rollup_task():
    return PeriodicTask.objects.get(task="reporting.tasks.rollup_daily")


def test_the_migration_registers_the_project_schedules():
    tasks = {task.task: task for task in PeriodicTask.objects.select_related("interval", "crontab")}
    assert (
        tasks["reporting.tasks.rollup_daily"].crontab.hour,
        tasks["reporting.tasks.rollup_daily"].crontab.minute,
    ) == (
        "1",
        "0",
    )
    assert str(tasks["catalog.tasks.import_competitor_prices"].interval) == "every hour"
    assert str(tasks["moderation.tasks.expire_claims"].interval) == "every 5 minutes"
    assert tasks["reporting.tasks.download_daily_list"].crontab is not None


def test_the_queue_waits_read_as_durations_not_timedelta_reprs(as_marketer):
    from moderation.tests.factories import ScreenshotProofFactory

    proof = ScreenshotProofFactory()
    waited = datetime.timedelta(minutes=7, seconds=22, microseconds=287820)
    type(proof).objects.filter(pk=proof.pk).update(submitted_at=timezone.now() - waited)
    body = as_marketer.get(REPORTS).content.decode()
    assert "median wait 7 min" in body and "Oldest waiting 7 min" in body
    assert "0:07:22" not in body


def test_the_funnel_shows_each_steps_base_and_never_more_than_all_of_it(as_marketer):
    generate_activity(YESTERDAY, scale=1, moderator=moderator())
    body = as_marketer.get(REPORTS, {"start": YESTERDAY, "end": TODAY}).content.decode()
    assert "Share of the step before" in body
    assert " of " in body and "referral links opened" in body
    for share in re.findall(r"(\d+) % of", body):
        assert int(share) <= 100


# Who sees what


def test_a_marketer_sees_the_reports_page_and_its_menu_item(as_marketer):
    response = as_marketer.get(REPORTS)
    assert response.status_code == 200
    assert b"Referral funnel" in response.content
    assert REPORTS in as_marketer.get("/admin/").content.decode()


def test_a_marketer_sees_the_dashboard_panel_on_the_admin_home(as_marketer):
    assert b"Business figures, last 7 days" in as_marketer.get("/admin/").content


def test_a_marketer_does_not_see_the_schedules(as_marketer):
    home = as_marketer.get("/admin/").content.decode()
    assert "Schedules" not in home
    for url in ["periodic_tasks:index", "interval_schedules:index", "crontab_schedules:index", "task_runs:index"]:
        assert_refused(as_marketer.get(reverse(url)))
    assert_refused(as_marketer.get(reverse("periodic_tasks:edit", args=[rollup_task().pk])))


def test_a_moderator_sees_neither_the_reports_nor_the_schedules(as_moderator):
    home = as_moderator.get("/admin/").content.decode()
    assert REPORTS not in home
    assert "Business figures" not in home
    assert "Schedules" not in home
    assert_refused(as_moderator.get(REPORTS))
    assert_refused(as_moderator.get(f"{REPORTS}?export=daily"))
    assert_refused(as_moderator.get(reverse("periodic_tasks:index")))


def test_anonymous_visitors_are_sent_to_the_login(client):
    response = client.get(REPORTS)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_an_admin_sees_the_schedules_with_their_next_run(as_admin):
    response = as_admin.get(reverse("periodic_tasks:index"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Daily rollup of the dashboard figures" in body
    assert "reporting.tasks.rollup_daily" in body
    assert "Next run" in body
    assert "Schedules" in as_admin.get("/admin/").content.decode()


def test_the_schedule_listing_does_not_query_per_row(as_admin, django_assert_max_num_queries):
    for n in range(15):
        interval = IntervalSchedule.objects.create(every=n + 2, period="minutes")
        PeriodicTask.objects.create(name=f"extra {n}", task="reporting.tasks.rollup_daily", interval=interval)
    with django_assert_max_num_queries(20):
        assert as_admin.get(reverse("periodic_tasks:index")).status_code == 200


def test_task_runs_are_listed_with_their_error(as_admin):
    TaskRun.objects.create(
        task_name="reporting.tasks.download_daily_list", status="failed", error="Boom\nHTTP Error 500"
    )
    body = as_admin.get(reverse("task_runs:index")).content.decode()
    assert "reporting.tasks.download_daily_list" in body
    assert "HTTP Error 500" in body


# Editing schedules


def edit_payload(periodic_task, **changes):
    task = periodic_task
    payload = {
        "name": task.name,
        "task": task.task,
        "enabled": "on" if task.enabled else "",
        "interval": task.interval_id or "",
        "crontab": task.crontab_id or "",
        "kwargs": task.kwargs,
        "args": task.args,
        "description": task.description,
    }
    payload.update(changes)
    return {key: value for key, value in payload.items() if value not in (None, False)}


def test_an_admin_disables_a_task_and_changes_its_arguments(as_admin):
    task = rollup_task()
    response = as_admin.post(
        reverse("periodic_tasks:edit", args=[task.pk]), edit_payload(task, enabled="", kwargs='{"days": 3}')
    )
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.enabled is False
    assert json.loads(task.kwargs) == {"days": 3}


def test_an_admin_moves_a_task_from_crontab_to_interval(as_admin):
    task = rollup_task()
    interval = IntervalSchedule.objects.create(every=6, period="hours")
    as_admin.post(reverse("periodic_tasks:edit", args=[task.pk]), edit_payload(task, crontab="", interval=interval.pk))
    task.refresh_from_db()
    assert (task.interval_id, task.crontab_id) == (interval.pk, None)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"kwargs": "{not json"}, "must be valid JSON"),
        ({"kwargs": "[1, 2]"}, "must be an object"),
        ({"args": '{"a": 1}'}, "must be a list"),
        ({"task": "nowhere.tasks.nothing"}, "No task named"),
        ({"crontab": ""}, "exactly one schedule"),
    ],
)
def test_a_bad_schedule_edit_is_refused_with_a_clear_message(as_admin, changes, message):
    task = rollup_task()
    if "crontab" in changes:
        changes = {"crontab": "", "interval": ""}
    response = as_admin.post(reverse("periodic_tasks:edit", args=[task.pk]), edit_payload(task, **changes))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert PeriodicTask.objects.get(pk=task.pk).kwargs == task.kwargs


def test_a_task_with_both_interval_and_crontab_is_refused(as_admin):
    task = rollup_task()
    interval = IntervalSchedule.objects.create(every=6, period="hours")
    response = as_admin.post(reverse("periodic_tasks:edit", args=[task.pk]), edit_payload(task, interval=interval.pk))
    assert "exactly one schedule" in response.content.decode()


def test_an_admin_adds_a_crontab_and_a_bad_crontab_is_refused(as_admin):
    url = reverse("crontab_schedules:add")
    fields = {
        "minute": "15",
        "hour": "3",
        "day_of_week": "*",
        "day_of_month": "*",
        "month_of_year": "*",
        "timezone": "UTC",
    }
    assert as_admin.post(url, fields).status_code == 302
    assert CrontabSchedule.objects.filter(minute="15", hour="3").exists()
    assert as_admin.post(url, {**fields, "hour": "25"}).status_code == 200
    assert not CrontabSchedule.objects.filter(hour="25").exists()


# The reports page


def test_the_reports_page_shows_the_figures_of_the_range(as_marketer):
    expected = generate_activity(YESTERDAY, scale=1)
    services.rollup_day(day=YESTERDAY)
    response = as_marketer.get(REPORTS, {"start": YESTERDAY, "end": TODAY})
    assert response.status_code == 200
    board = response.context["board"]
    assert board.totals["downloads"] == expected["downloads"]
    assert b'id="reporting-chart-data"' in response.content
    assert b"vendor/chartjs/chart.umd.min.js" in response.content


@pytest.mark.parametrize(
    "query, message",
    [
        ({"start": "2026-03-10", "end": "2026-03-01"}, "is before the start date"),
        ({"start": "2026-02-30", "end": "2026-03-01"}, "Enter the start date as YYYY-MM-DD."),
        ({"start": "yesterday", "end": "2026-03-01"}, "Enter the start date as YYYY-MM-DD."),
        ({"start": "2024-01-01", "end": "2026-03-01"}, "choose at most 366"),
        ({"start": "2026-03-01"}, "This field is required."),
    ],
)
def test_a_malformed_date_range_gets_a_clear_message(as_marketer, query, message):
    response = as_marketer.get(REPORTS, query)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert response.context["board"] is None


@pytest.mark.parametrize("table", ["totals", "daily", "top-downloads", "top-approved", "funnel", "throughput"])
def test_every_table_exports_as_csv(as_marketer, table):
    generate_activity(YESTERDAY, scale=1)
    response = as_marketer.get(REPORTS, {"start": YESTERDAY, "end": TODAY, "export": table})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert f"{table}_{YESTERDAY}_{TODAY}.csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert len(rows) > 1


def test_the_daily_csv_has_one_row_per_day(as_marketer):
    rows = list(
        csv.reader(
            io.StringIO(
                as_marketer.get(
                    REPORTS, {"start": "2026-01-01", "end": "2026-01-10", "export": "daily"}
                ).content.decode()
            )
        )
    )
    assert rows[0][:2] == ["Date", "Apps created"]
    assert [row[0] for row in rows[1:]] == [f"2026-01-{day:02d}" for day in range(1, 11)]


def test_an_unknown_export_or_a_bad_range_is_refused(as_marketer):
    assert as_marketer.get(REPORTS, {"export": "passwords"}).status_code == 400
    response = as_marketer.get(REPORTS, {"start": "2026-03-10", "end": "2026-03-01", "export": "daily"})
    assert response.status_code == 400
    assert "before the start date" in response.content.decode()


def test_csv_cells_cannot_start_a_spreadsheet_formula(as_marketer):
    from backoffice.tests.factories import UserFactory
    from catalog.tests.factories import AppFactory
    from moderation.models import Download

    Download.objects.create(user=UserFactory(), app=AppFactory(name="=HYPERLINK(1)"))
    content = as_marketer.get(REPORTS, {"export": "top-downloads", "start": TODAY, "end": TODAY}).content.decode()
    assert "'=HYPERLINK(1)" in content


def test_the_reports_page_query_count_does_not_grow_with_the_range(as_marketer, django_assert_max_num_queries):
    for day in (YESTERDAY, YESTERDAY - datetime.timedelta(days=1)):
        generate_activity(day, scale=1)
        services.rollup_day(day=day)
    with django_assert_max_num_queries(55):
        assert (
            as_marketer.get(REPORTS, {"start": TODAY - datetime.timedelta(days=365), "end": TODAY}).status_code == 200
        )


def test_an_admin_opens_the_schedule_forms(as_admin):
    assert as_admin.get(reverse("periodic_tasks:edit", args=[rollup_task().pk])).status_code == 200
    assert as_admin.get(reverse("periodic_tasks:add")).status_code == 200
    assert as_admin.get(reverse("interval_schedules:index")).status_code == 200
    assert as_admin.get(reverse("crontab_schedules:index")).status_code == 200


def test_an_admin_adds_a_periodic_task(as_admin):
    interval = IntervalSchedule.objects.create(every=2, period="days")
    payload = {
        "name": "Redo last week",
        "task": "reporting.tasks.rollup_daily",
        "enabled": "on",
        "interval": interval.pk,
        "kwargs": '{"days": 7}',
        "args": "[]",
    }
    assert as_admin.post(reverse("periodic_tasks:add"), payload).status_code == 302
    task = PeriodicTask.objects.get(name="Redo last week")
    assert (task.interval_id, json.loads(task.kwargs)) == (interval.pk, {"days": 7})


def test_an_admin_sees_the_downloaded_daily_list(as_admin):
    from reporting.models import DailyListEntry

    DailyListEntry.objects.create(list_date=TODAY, line_number=1, data={"sku": "ZX-81"})
    assert "ZX-81" in as_admin.get(reverse("daily_list:index")).content.decode()


def test_an_admin_disables_and_enables_a_task_from_the_listing(as_admin):
    task = rollup_task()
    toggle = reverse("periodic_tasks:toggle", args=[task.pk])
    assert toggle in as_admin.get(reverse("periodic_tasks:index")).content.decode()
    assert "Disable" in as_admin.get(toggle).content.decode()
    as_admin.post(toggle)
    assert PeriodicTask.objects.get(pk=task.pk).enabled is False
    as_admin.post(toggle)
    assert PeriodicTask.objects.get(pk=task.pk).enabled is True


def test_a_marketer_cannot_toggle_a_task(as_marketer):
    task = rollup_task()
    assert_refused(as_marketer.post(reverse("periodic_tasks:toggle", args=[task.pk])))
    assert PeriodicTask.objects.get(pk=task.pk).enabled is True
