"""The Reports page of the Wagtail admin: the dashboard over a date range, its charts, and CSV exports."""

import json
from urllib.parse import quote

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from backoffice import exports
from backoffice.jobs import PermanentJobError, run_now
from backoffice.viewsets import AdminPageView, ConfirmObjectActionView

from . import selectors
from .forms import DateRangeForm, default_range

DASHBOARD_PERMISSION = "reporting.view_dashboard"

# Chart title -> the daily figures drawn on it.
CHARTS = {
    "Downloads and proofs": ["downloads", "proofs_submitted", "proofs_reviewed"],
    "Sign-ups": ["users_signed_up", "users_verified", "referral_signups"],
    "Points": ["points_earned", "points_referral", "points_taken_back", "points_spent_on_discounts"],
    "App sales": ["purchases", "refunds", "subscriptions"],
    "Credits spent": ["credits_spent_on_apps", "credits_refunded", "points_spent_on_plans"],
    "Redemptions": ["redemptions", "discount_given"],
}
EXPORTS = ["totals", "daily", "top-downloads", "top-approved", "top-purchases", "top-credits", "funnel", "throughput"]
HEADLINE = [
    "downloads",
    "proofs_approved",
    "users_signed_up",
    "points_earned",
    "purchases",
    "credits_spent_on_apps",
    "points_spent_on_discounts",
    "redemptions",
]


def export_tables(board):
    """Every table of the page as (header, rows), keyed by the name used in `?export=`."""
    names = list(selectors.FIGURES)
    top_header = ["Rank", "App", "Downloads", "Approved proofs", "Purchases", "Credits"]

    def top_rows(rows):
        return [
            [n, row["name"], row["downloads"], row["proofs_approved"], row["purchases"], row["credits"]]
            for n, row in enumerate(rows, 1)
        ]

    return {
        "totals": (["Figure", "Total"], [[selectors.FIGURES[name], board.totals[name]] for name in names]),
        "daily": (
            ["Date", *(selectors.FIGURES[n] for n in names)],
            [[d["date"], *(d[n] for n in names)] for d in board.days],
        ),
        "top-downloads": (top_header, top_rows(board.top_by_downloads)),
        "top-approved": (top_header, top_rows(board.top_by_approved)),
        "top-purchases": (top_header, top_rows(board.top_by_purchases)),
        "top-credits": (top_header, top_rows(board.top_by_credits)),
        "funnel": (
            ["Step", "Count", "Base (the step before)", "Base count", "Share of base"],
            [
                [
                    s["step"],
                    s["count"],
                    s["base"]["step"] if s["base"] else "",
                    s["base"]["count"] if s["base"] else "",
                    "" if s["rate"] is None else f"{s['rate']:.1%}",
                ]
                for s in board.funnel
            ],
        ),
        "throughput": (
            ["Date", "Reviewed", "Approved", "Rejected", "Invalidated", "Submitted"],
            [
                [
                    d["date"],
                    d["proofs_reviewed"],
                    d["proofs_approved"],
                    d["proofs_rejected"],
                    d["proofs_invalidated"],
                    d["proofs_submitted"],
                ]
                for d in board.days
            ],
        ),
    }


def csv_response(filename, header, rows):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = exports.csv_writer(response)
    writer.writerow(header)
    writer.writerows(rows)
    return response


def chart_data(board):
    labels = [day["date"].isoformat() for day in board.days]
    return {
        "labels": labels,
        "charts": [
            {
                "title": title,
                "series": [
                    {"label": selectors.FIGURES[name], "data": [float(day[name]) for day in board.days]}
                    for name in figures
                ],
            }
            for title, figures in CHARTS.items()
        ],
    }


class ReportsView(AdminPageView):
    permission = DASHBOARD_PERMISSION
    template_name = "reporting/reports.html"
    page_title = "Business reports"
    header_icon = "table"

    def get(self, request, *args, **kwargs):
        start, end = default_range()
        data = request.GET if {"start", "end"} & set(request.GET) else {"start": start, "end": end}
        form = DateRangeForm(data)
        board = selectors.dashboard(form.cleaned_data["start"], form.cleaned_data["end"]) if form.is_valid() else None
        export = request.GET.get("export")
        if export:
            if board is None or export not in EXPORTS:
                problems = "; ".join(message for errors in form.errors.values() for message in errors)
                message = problems or f"Unknown table {export!r}; choose one of: {', '.join(EXPORTS)}."
                return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
            header, rows = export_tables(board)[export]
            return csv_response(f"{export}_{board.start}_{board.end}.csv", header, rows)
        context = self.get_context_data(form=form, board=board)
        status = 200 if board else 400
        return self.render_to_response(context, status=status)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        board = kwargs.get("board")
        if board:
            query = f"start={board.start}&end={board.end}"
            context.update(
                figures=[(selectors.FIGURES[name], board.totals[name]) for name in selectors.FIGURES],
                chart_data=chart_data(board),
                exports={
                    name.replace("-", "_"): f"{reverse('reporting_reports')}?{query}&export={name}" for name in EXPORTS
                },
                figure_labels=list(selectors.FIGURES.values()),
                daily_rows=[(day["date"], [day[name] for name in selectors.FIGURES]) for day in board.days],
            )
        return context


class TogglePeriodicTaskView(ConfirmObjectActionView):
    """Enable or disable a periodic task from the listing: a confirmation page, then a POST."""

    permission = "django_celery_beat.change_periodictask"
    model = PeriodicTask
    context_object_name = "task"
    template_name = "reporting/toggle_periodic_task.html"
    header_icon = "time"
    cancel_url_name = "periodic_tasks:index"

    @property
    def task(self):
        return self.object

    def get_page_title(self):
        return f"{'Disable' if self.task.enabled else 'Enable'} {self.task.name}"

    def get_submit_label(self):
        return "Disable" if self.task.enabled else "Enable"

    def get_submit_class(self):
        return "button no" if self.task.enabled else "button"

    def post(self, request, *args, **kwargs):
        self.task.enabled = not self.task.enabled
        self.task.save()
        state = "enabled" if self.task.enabled else "disabled"
        messages.success(request, f"'{self.task.name}' is {state}.")
        return redirect("periodic_tasks:index")


class RunPeriodicTaskView(TogglePeriodicTaskView):
    """Run a periodic task now, with its arguments: a confirmation page, then a POST; the run shows in Task runs."""

    template_name = "reporting/run_periodic_task.html"

    def get_page_title(self):
        return f"Run {self.task.name} now"

    def get_submit_label(self):
        return "Run now"

    def get_submit_class(self):
        return "button"

    def post(self, request, *args, **kwargs):
        try:
            run = run_now(
                task_name=self.task.task,
                args=json.loads(self.task.args or "[]"),
                kwargs=json.loads(self.task.kwargs or "{}"),
                requested_by=request.user,
            )
        except (PermanentJobError, ValueError, TypeError) as exc:
            messages.error(request, f"'{self.task.name}' cannot run: {exc}")
            return redirect("periodic_tasks:index")
        level = messages.error if run.status == run.Status.FAILED else messages.success
        level(request, f"'{self.task.name}' is {run.get_status_display().lower()}.")
        return redirect(f"{reverse('task_runs:index')}?task_name={quote(run.task_name)}")
