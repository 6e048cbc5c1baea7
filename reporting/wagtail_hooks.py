"""Wagtail admin: the Reports page and home panel (Admins, Marketers) and the Schedules menu (Admins only)."""

import datetime

from django.urls import path, reverse
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask
from wagtail import hooks
from wagtail.admin.menu import MenuItem as AdminMenuItem
from wagtail.admin.ui.menus import MenuItem
from wagtail.admin.ui.tables import BooleanColumn, Column, DateColumn
from wagtail.admin.views.generic import IndexView
from wagtail.admin.viewsets.base import ViewSetGroup
from wagtail.admin.viewsets.model import ModelViewSet

from backoffice.models import TaskRun
from backoffice.viewsets import home_panel

from . import selectors
from .forms import PeriodicTaskForm
from .models import DailyListEntry
from .schedules import next_run_at
from .views import DASHBOARD_PERMISSION, HEADLINE, ReportsView, RunPeriodicTaskView, TogglePeriodicTaskView

HOME_PANEL_DAYS = 7


@hooks.register("register_admin_urls")
def register_reports_url():
    return [path("business-reports/", ReportsView.as_view(), name="reporting_reports")]


class ReportsMenuItem(AdminMenuItem):
    def is_shown(self, request):
        return request.user.has_perm(DASHBOARD_PERMISSION)


@hooks.register("register_admin_menu_item")
def register_reports_menu_item():
    return ReportsMenuItem(
        "Business reports", reverse("reporting_reports"), name="business-reports", icon_name="table", order=150
    )


@home_panel(order=50, permission=DASHBOARD_PERMISSION)
def dashboard(parent_context):
    """Headline figures of the last week and the moderation queue, on the admin home page."""
    today = timezone.localdate()
    board = selectors.dashboard(today - datetime.timedelta(days=HOME_PANEL_DAYS - 1), today)
    return {
        "heading": f"Business figures, last {HOME_PANEL_DAYS} days",
        "figures": [(selectors.FIGURES[name], board.totals[name]) for name in HEADLINE],
        "queue": board.queue,
        "reports_url": reverse("reporting_reports"),
    }


@home_panel(order=30, permission="backoffice.view_taskrun")
def failing_jobs(parent_context):
    """The admin's home: periodic jobs whose latest run in the last day failed."""
    return {
        "jobs": selectors.failing_jobs(since=timezone.now() - datetime.timedelta(days=1)),
        "runs_url": reverse("task_runs:index"),
    }


def _when(value):
    return value.strftime("%Y-%m-%d %H:%M %Z") if value else "—"


def _schedule(task):
    return str(task.interval or task.crontab or task.clocked or task.solar or "—")


class PeriodicTaskIndexView(IndexView):
    def get_base_queryset(self):
        return super().get_base_queryset().select_related("interval", "crontab", "clocked", "solar")

    def get_list_more_buttons(self, instance):
        buttons = super().get_list_more_buttons(instance)
        if self.user_has_permission("change"):
            label, icon = ("Disable", "cross") if instance.enabled else ("Enable", "tick")
            buttons.append(
                MenuItem(label, url=reverse("periodic_tasks:toggle", args=[instance.pk]), icon_name=icon, priority=15)
            )
            buttons.append(
                MenuItem(
                    "Run now", url=reverse("periodic_tasks:run", args=[instance.pk]), icon_name="resubmit", priority=16
                )
            )
        return buttons


class PeriodicTaskViewSet(ModelViewSet):
    model = PeriodicTask
    name = "periodic_tasks"
    icon = "time"
    menu_label = "Periodic tasks"
    index_view_class = PeriodicTaskIndexView
    copy_view_enabled = False
    list_filter = ["enabled"]
    search_fields = ["name", "task", "description"]
    search_backend_name = None
    list_display = [
        "name",
        "task",
        BooleanColumn("enabled", label="Enabled"),
        Column("schedule", label="Schedule", accessor=_schedule),
        Column("kwargs", label="Arguments"),
        DateColumn("last_run_at", label="Last run"),
        Column("next_run", label="Next run", accessor=lambda task: _when(next_run_at(task))),
        Column("total_run_count", label="Runs"),
    ]

    def get_form_class(self, for_update=False):
        return PeriodicTaskForm

    def get_urlpatterns(self):
        return [
            *super().get_urlpatterns(),
            path("<int:pk>/toggle/", TogglePeriodicTaskView.as_view(), name="toggle"),
            path("<int:pk>/run/", RunPeriodicTaskView.as_view(), name="run"),
        ]


class IntervalScheduleViewSet(ModelViewSet):
    model = IntervalSchedule
    name = "interval_schedules"
    icon = "repeat"
    menu_label = "Intervals"
    copy_view_enabled = False
    form_fields = ["every", "period"]
    list_display = ["__str__", "every", "period"]


class CrontabScheduleViewSet(ModelViewSet):
    model = CrontabSchedule
    name = "crontab_schedules"
    icon = "date"
    menu_label = "Crontabs"
    copy_view_enabled = False
    form_fields = ["minute", "hour", "day_of_week", "day_of_month", "month_of_year", "timezone"]
    list_display = ["__str__", "minute", "hour", "day_of_week", "day_of_month", "month_of_year", "timezone"]


class TaskRunIndexView(IndexView):
    def get_base_queryset(self):
        return super().get_base_queryset().select_related("requested_by")


class TaskRunViewSet(ModelViewSet):
    model = TaskRun
    name = "task_runs"
    index_view_class = TaskRunIndexView
    icon = "list-ul"
    menu_label = "Task runs"
    copy_view_enabled = False
    inspect_view_enabled = True
    list_filter = ["status", "task_name"]
    search_fields = ["task_name", "error"]
    search_backend_name = None
    list_display = [
        "task_name",
        "status",
        "attempt",
        Column("requested_by", label="Run now by"),
        DateColumn("started_at", label="Started"),
        DateColumn("finished_at", label="Finished"),
        "rows",
        Column(
            "error", label="Error", accessor=lambda run: run.error.strip().splitlines()[-1][:160] if run.error else ""
        ),
    ]
    form_fields = []


class DailyListEntryViewSet(ModelViewSet):
    model = DailyListEntry
    name = "daily_list"
    icon = "doc-full"
    menu_label = "Daily list"
    copy_view_enabled = False
    inspect_view_enabled = True
    list_filter = ["list_date"]
    list_display = ["list_date", "line_number", "data", DateColumn("fetched_at", label="Fetched")]
    form_fields = []


class SchedulesGroup(ViewSetGroup):
    menu_label = "Schedules"
    menu_icon = "time"
    menu_order = 900
    items = (
        PeriodicTaskViewSet,
        IntervalScheduleViewSet,
        CrontabScheduleViewSet,
        TaskRunViewSet,
        DailyListEntryViewSet,
    )


@hooks.register("register_admin_viewset")
def register_schedules():
    return SchedulesGroup()
