"""Read paths of the reporting app: the dashboard figures, from rollups or from the raw tables of the other apps.

`raw_daily_figures` is the single definition of every figure: `services.rollup_day` stores its result, the
dashboard reads the stored rows for finished days and calls it live for today (and for any day not rolled up yet).
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from backoffice.models import TaskRun
from catalog.models import App
from commerce.models import Purchase, Subscription
from growth.models import Redemption, Referral, ReferralVisit
from moderation.models import Download, RewardEntry, ScreenshotProof

from .models import DailyAppStat, DailyStat, WeeklyAppStat

MAX_RANGE_DAYS = 366
TOP_APPS = 10

# Every figure of a day, in display order, with its label. All are additive over days.
FIGURES = {
    "apps_created": "Apps created",
    "users_signed_up": "Users signed up",
    "users_verified": "Users verified",
    "downloads": "Downloads",
    "proofs_submitted": "Proofs submitted",
    "proofs_approved": "Proofs approved",
    "proofs_rejected": "Proofs rejected",
    "proofs_invalidated": "Proofs invalidated",
    "proofs_reviewed": "Proofs reviewed",
    "points_earned": "Points earned (proofs)",
    "points_referral": "Points earned (referrals)",
    "points_taken_back": "Points taken back",
    "points_adjusted": "Points adjusted (net)",
    "points_spent_on_discounts": "Points spent on discounts",
    "purchases": "App purchases",
    "credits_spent_on_apps": "Credits spent on apps",
    "refunds": "Purchases refunded",
    "credits_refunded": "Credits refunded",
    "subscriptions": "Plan subscriptions",
    "points_spent_on_plans": "Points spent on plans",
    "redemptions": "Redemptions",
    "discount_given": "Discount given",
    "referral_visits": "Referral links opened",
    "referral_signups": "Signups with referral",
    "referral_verified": "Referred users verified",
    "referral_credited": "Referrals credited",
}
FUNNEL = ["referral_visits", "referral_signups", "referral_verified", "referral_credited"]
REVIEWED_STATUSES = {
    ScreenshotProof.Status.APPROVED: "proofs_approved",
    ScreenshotProof.Status.REJECTED: "proofs_rejected",
    ScreenshotProof.Status.INVALIDATED: "proofs_invalidated",
}


def empty_figures():
    return {name: Decimal("0.00") if name == "discount_given" else 0 for name in FIGURES}


def days_between(start, end):
    return [start + datetime.timedelta(days=n) for n in range((end - start).days + 1)]


def week_start(day):
    return day - datetime.timedelta(days=day.weekday())


def day_bounds(start, end):
    """Aware datetimes [start 00:00, end+1 00:00) in the project's time zone."""
    tz = timezone.get_current_timezone()
    low = datetime.datetime.combine(start, datetime.time.min, tzinfo=tz)
    high = datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz)
    return low, high


def _per_day(queryset, field_name, low, high, *extra_keys, **aggregates):
    """Rows of {day, *extra_keys, **aggregates} for `field_name` within [low, high)."""
    return (
        queryset.filter(**{f"{field_name}__gte": low, f"{field_name}__lt": high})
        .annotate(day=TruncDate(field_name))
        .values("day", *extra_keys)
        .annotate(**aggregates)
        .order_by()
    )


def raw_daily_figures(start, end):
    """Every figure of every day from `start` to `end` (inclusive), counted on the raw tables: {date: figures}."""
    low, high = day_bounds(start, end)
    by_day = {day: empty_figures() for day in days_between(start, end)}

    def count_into(figure, queryset, field_name):
        for row in _per_day(queryset, field_name, low, high, n=Count("pk")):
            by_day[row["day"]][figure] += row["n"]

    members = get_user_model().objects.filter(is_staff=False)
    count_into("apps_created", App.objects.all(), "created_at")
    count_into("users_signed_up", members, "date_joined")
    count_into("users_verified", members, "phone_verified_at")
    count_into("downloads", Download.objects.all(), "created_at")
    count_into("proofs_submitted", ScreenshotProof.objects.all(), "submitted_at")
    reviewed = ScreenshotProof.objects.filter(status__in=list(REVIEWED_STATUSES))
    for row in _per_day(reviewed, "reviewed_at", low, high, "status", n=Count("pk")):
        figures = by_day[row["day"]]
        figures[REVIEWED_STATUSES[row["status"]]] += row["n"]
        figures["proofs_reviewed"] += row["n"]
    for row in _per_day(RewardEntry.objects.all(), "created_at", low, high, "kind", total=Sum("amount")):
        figures, kind, total = by_day[row["day"]], row["kind"], row["total"] or 0
        if kind == RewardEntry.Kind.EARN:
            figures["points_earned"] += total
        elif kind == RewardEntry.Kind.REFERRAL:
            figures["points_referral"] += total
        elif kind == RewardEntry.Kind.INVALIDATE:
            figures["points_taken_back"] -= total
        elif kind == RewardEntry.Kind.REDEEM:
            figures["points_spent_on_discounts"] -= total
        elif kind in (RewardEntry.Kind.ADJUST, RewardEntry.Kind.VOID):
            figures["points_adjusted"] += total  # a voided redemption's points come back as an adjustment
        # purchase, refund and plan entries are counted from their own tables below
    for row in _per_day(Purchase.objects.all(), "created_at", low, high, n=Count("pk"), total=Sum("price_paid")):
        by_day[row["day"]]["purchases"] += row["n"]
        by_day[row["day"]]["credits_spent_on_apps"] += row["total"] or 0
    refunded = Purchase.objects.filter(refunded_at__isnull=False)
    for row in _per_day(refunded, "refunded_at", low, high, n=Count("pk"), total=Sum("price_paid")):
        by_day[row["day"]]["refunds"] += row["n"]
        by_day[row["day"]]["credits_refunded"] += row["total"] or 0
    for row in _per_day(Subscription.objects.all(), "created_at", low, high, n=Count("pk"), total=Sum("price_paid")):
        by_day[row["day"]]["subscriptions"] += row["n"]
        by_day[row["day"]]["points_spent_on_plans"] += row["total"] or 0
    for row in _per_day(Redemption.objects.all(), "created_at", low, high, n=Count("pk"), total=Sum("discount_amount")):
        by_day[row["day"]]["redemptions"] += row["n"]
        by_day[row["day"]]["discount_given"] += row["total"] or Decimal("0.00")
    count_into("referral_visits", ReferralVisit.objects.all(), "created_at")
    count_into("referral_signups", Referral.objects.all(), "created_at")
    count_into("referral_verified", Referral.objects.all(), "referred__phone_verified_at")
    count_into("referral_credited", Referral.objects.all(), "credited_at")
    return by_day


APP_FIGURES = ("downloads", "proofs_approved", "purchases", "credits")


def empty_app_figures():
    return dict.fromkeys(APP_FIGURES, 0)


def raw_app_figures(start, end, *, per_day=True):
    """Downloads, approved proofs, purchases and credits paid per app (and per day unless `per_day` is False).

    Returns {(day, app_id): {"downloads", "proofs_approved", "purchases", "credits"}}, or {app_id: {...}}.
    Purchases count on the day they were made (a later refund is its own figure), so a finished day never changes.
    """
    low, high = day_bounds(start, end)
    result = defaultdict(empty_app_figures)
    downloads = Download.objects.filter(created_at__gte=low, created_at__lt=high)
    approved = ScreenshotProof.objects.filter(
        status=ScreenshotProof.Status.APPROVED, reviewed_at__gte=low, reviewed_at__lt=high
    )
    purchases = Purchase.objects.filter(created_at__gte=low, created_at__lt=high)
    for figures, queryset, field_name, app_field in [
        ({"downloads": Count("pk")}, downloads, "created_at", "app_id"),
        ({"proofs_approved": Count("pk")}, approved, "reviewed_at", "download__app_id"),
        ({"purchases": Count("pk"), "credits": Sum("price_paid")}, purchases, "created_at", "app_id"),
    ]:
        if per_day:
            rows = queryset.annotate(day=TruncDate(field_name)).values("day", app_field)
        else:
            rows = queryset.values(app_field)
        for row in rows.annotate(**figures).order_by():
            key = (row["day"], row[app_field]) if per_day else row[app_field]
            for name in figures:
                result[key][name] += row[name] or 0
    return dict(result)


@dataclass
class QueueState:
    pending: int = 0
    oldest_submitted_at: datetime.datetime | None = None
    oldest_age: datetime.timedelta | None = None
    median_age: datetime.timedelta | None = None


def moderation_queue(now=None):
    """How many proofs wait for review, and how long the oldest and the median have waited (always live)."""
    now = now or timezone.now()
    pending = ScreenshotProof.objects.filter(status=ScreenshotProof.Status.PENDING).order_by("submitted_at")
    count = pending.count()
    if not count:
        return QueueState()
    submitted = pending.values_list("submitted_at", flat=True)
    oldest = submitted[0]
    if count % 2:
        median_age = now - submitted[count // 2]
    else:
        low, high = list(submitted[count // 2 - 1 : count // 2 + 1])
        median_age = ((now - low) + (now - high)) / 2
    return QueueState(pending=count, oldest_submitted_at=oldest, oldest_age=now - oldest, median_age=median_age)


@dataclass
class Dashboard:
    start: datetime.date
    end: datetime.date
    days: list = field(default_factory=list)  # [{"date": date, **figures}]
    totals: dict = field(default_factory=dict)
    top_by_downloads: list = field(default_factory=list)  # [{"app_id", "name", "downloads", "proofs_approved"}]
    top_by_approved: list = field(default_factory=list)
    top_by_purchases: list = field(default_factory=list)
    top_by_credits: list = field(default_factory=list)
    queue: QueueState = field(default_factory=QueueState)
    live_days: list = field(default_factory=list)  # days computed from raw tables (today, or not rolled up)

    @property
    def funnel(self):
        """The referral funnel: each step with its count, its base (the step before) and its share of that base.

        A share never exceeds 100 %: a step can hold people whose earlier step fell before the range (a link opened
        last month, a sign-up today), so more than the base is shown as the whole base, flagged `above_base`.
        """
        steps, previous = [], None
        for name in FUNNEL:
            count = self.totals[name]
            base = None if previous is None else {"step": FIGURES[previous], "count": self.totals[previous]}
            rate = None if not base or not base["count"] else min(count / base["count"], 1.0)
            above = bool(base) and count > base["count"]
            steps.append(
                {"step": FIGURES[name], "key": name, "count": count, "rate": rate, "base": base, "above_base": above}
            )
            previous = name
        return steps


def _totals(days):
    totals = empty_figures()
    for day in days:
        for name in FIGURES:
            totals[name] += day[name]
    return totals


def _top_apps(app_totals, limit):
    """Rankings of {app_id: figures} by downloads, approved proofs, purchases and credits (ties: lower id first).

    Ranking before naming keeps the name lookup to the few apps shown.
    """

    def ranked(figure):
        chosen = [(pk, figures) for pk, figures in app_totals.items() if figures[figure]]
        return sorted(chosen, key=lambda item: (-item[1][figure], item[0]))[:limit]

    rankings = [ranked(figure) for figure in ("downloads", "proofs_approved", "purchases", "credits")]
    shown = {pk for ranking in rankings for pk, _ in ranking}
    names = dict(App.objects.filter(pk__in=shown).values_list("pk", "name")) if shown else {}

    def rows(items):
        return [{"app_id": pk, "name": names.get(pk, f"App #{pk}"), **figures} for pk, figures in items]

    return [rows(ranking) for ranking in rankings]


def _live_ranges(days):
    """Split days into consecutive runs so each run costs one set of raw queries."""
    runs = []
    for day in days:
        if runs and runs[-1][1] + datetime.timedelta(days=1) == day:
            runs[-1][1] = day
        else:
            runs.append([day, day])
    return runs


def dashboard(start, end, *, top=TOP_APPS, today=None):
    """The dashboard over [start, end]: stored rollups for finished days, the raw tables for today and any gap."""
    today = today or timezone.localdate()
    stored = {
        row["date"]: row
        for row in DailyStat.objects.filter(date__gte=start, date__lte=min(end, today - datetime.timedelta(days=1)))
        .values("date", *FIGURES)
        .order_by()
    }
    live = [day for day in days_between(start, end) if day not in stored and day <= today]
    by_day = {day: {name: row[name] for name in FIGURES} for day, row in stored.items()}
    app_totals = defaultdict(empty_app_figures)
    if stored and top:
        for row in _stored_app_totals(start, max(stored)):
            for name in APP_FIGURES:
                app_totals[row["app_id"]][name] += row[name]
    for run_start, run_end in _live_ranges(live):
        computed, app_figures = _live_figures(run_start, run_end, top, today)
        by_day.update(computed)
        for app_id, figures in app_figures.items():
            for name in APP_FIGURES:
                app_totals[app_id][name] += figures[name]
    return _assemble(start, end, by_day, app_totals, top, live)


def _live_figures(start, end, top, today):
    """Figures of days without a rollup, from the raw tables. Today's are cached for LIVE_FIGURES_CACHE_SECONDS
    (shared by every viewer), so a busy dashboard does not recount today's rows on every page view."""

    def compute():
        return raw_daily_figures(start, end), (raw_app_figures(start, end, per_day=False) if top else {})

    seconds = settings.REPORTING_LIVE_CACHE_SECONDS
    if not seconds or start != today or end != today:
        return compute()
    key = f"reporting:live:{today.isoformat()}:{bool(top)}"
    cached = cache.get(key)
    if cached is None:
        cached = compute()
        cache.set(key, cached, seconds)
    return cached


def _stored_app_totals(start, end):
    """Per-app sums of the rolled-up days in [start, end]: weekly rows for whole weeks, daily rows for the edges."""
    first_monday = week_start(start + datetime.timedelta(days=6))
    last_monday = week_start(end + datetime.timedelta(days=1)) - datetime.timedelta(days=7)
    sums = {name: Sum(name) for name in APP_FIGURES}
    if first_monday > last_monday:
        return list(
            DailyAppStat.objects.filter(date__gte=start, date__lte=end).values("app_id").annotate(**sums).order_by()
        )
    weeks = WeeklyAppStat.objects.filter(week_start__gte=first_monday, week_start__lte=last_monday)
    edges = DailyAppStat.objects.filter(date__gte=start, date__lt=first_monday) | DailyAppStat.objects.filter(
        date__gt=last_monday + datetime.timedelta(days=6), date__lte=end
    )
    return [
        *weeks.values("app_id").annotate(**sums).order_by(),
        *edges.values("app_id").annotate(**sums).order_by(),
    ]


def raw_dashboard(start, end, *, top=TOP_APPS):
    """The same dashboard, every figure counted on the raw tables (for checks and the benchmark)."""
    by_day = raw_daily_figures(start, end)
    return _assemble(start, end, by_day, raw_app_figures(start, end, per_day=False), top, days_between(start, end))


def _assemble(start, end, by_day, app_totals, top, live):
    days = [{"date": day, **by_day.get(day, empty_figures())} for day in days_between(start, end)]
    top_by_downloads, top_by_approved, top_by_purchases, top_by_credits = _top_apps(app_totals, top)
    return Dashboard(
        start=start,
        end=end,
        days=days,
        totals=_totals(days),
        top_by_downloads=top_by_downloads,
        top_by_approved=top_by_approved,
        top_by_purchases=top_by_purchases,
        top_by_credits=top_by_credits,
        queue=moderation_queue(),
        live_days=list(live),
    )


def failing_jobs(since):
    """Periodic jobs whose latest run since `since` failed (or waits for a retry), newest first, with the error."""
    latest = {}
    runs = TaskRun.objects.filter(started_at__gte=since).order_by("task_name", "-started_at", "-pk")
    for run in runs.only("task_name", "status", "started_at", "error"):
        latest.setdefault(run.task_name, run)
    failing = [run for run in latest.values() if run.status in (TaskRun.Status.FAILED, TaskRun.Status.RETRYING)]
    return sorted(failing, key=lambda run: run.started_at, reverse=True)
