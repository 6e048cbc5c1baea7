import datetime

import pytest
from django.utils import timezone

from backoffice.tests.factories import moderator
from moderation.tests.factories import ScreenshotProofFactory
from reporting import selectors, services
from reporting.models import DailyAppStat, DailyStat
from reporting.tests.factories import at, generate_activity

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
YESTERDAY = TODAY - datetime.timedelta(days=1)


def days_ago(n):
    return TODAY - datetime.timedelta(days=n)


@pytest.fixture
def three_days():
    reviewer = moderator()
    return {days_ago(n): generate_activity(days_ago(n), scale=n, moderator=reviewer) for n in (1, 2, 3)}


def stored_rows():
    stats = list(DailyStat.objects.order_by("date").values("date", *selectors.FIGURES))
    apps = list(
        DailyAppStat.objects.order_by("date", "app_id").values("date", "app_id", "downloads", "proofs_approved")
    )
    return stats, apps


def test_raw_figures_count_what_happened_each_day(three_days):
    raw = selectors.raw_daily_figures(days_ago(3), days_ago(1))
    for day, expected in three_days.items():
        assert raw[day] == {name: expected[name] for name in selectors.FIGURES}


def test_rollup_stores_the_raw_figures_of_each_day(three_days):
    services.rollup_days(start=days_ago(3), end=days_ago(1))
    for day in three_days:
        stored = DailyStat.objects.values(*selectors.FIGURES).get(date=day)
        assert stored == selectors.raw_daily_figures(day, day)[day]


def test_rollup_stores_per_app_downloads_approvals_and_sales(three_days):
    services.rollup_day(day=YESTERDAY)
    expected = three_days[YESTERDAY]
    for stat in DailyAppStat.objects.filter(date=YESTERDAY):
        assert stat.downloads == expected[("downloads", stat.app_id)]
        assert stat.proofs_approved == expected[("proofs_approved", stat.app_id)]
        assert (stat.purchases, stat.credits) == (
            expected[("purchases", stat.app_id)],
            expected[("credits", stat.app_id)],
        )
    assert sum(DailyAppStat.objects.filter(date=YESTERDAY).values_list("downloads", flat=True)) == expected["downloads"]


def test_dashboard_from_rollups_equals_dashboard_from_raw_tables(three_days):
    services.rollup_days(start=days_ago(3), end=days_ago(1))
    rolled, raw = selectors.dashboard(days_ago(5), TODAY), selectors.raw_dashboard(days_ago(5), TODAY)
    assert rolled.days == raw.days
    assert rolled.totals == raw.totals
    assert rolled.top_by_downloads == raw.top_by_downloads
    assert rolled.top_by_approved == raw.top_by_approved
    assert set(rolled.live_days) == {days_ago(5), days_ago(4), TODAY}


def test_rerunning_a_day_gives_the_same_rows(three_days):
    services.rollup_days(start=days_ago(3), end=days_ago(1))
    before = stored_rows()
    services.rollup_days(start=days_ago(3), end=days_ago(1))
    assert stored_rows() == before
    assert DailyStat.objects.count() == 3


def test_rerunning_a_day_picks_up_late_changes(three_days):
    services.rollup_day(day=YESTERDAY)
    proof = ScreenshotProofFactory()
    type(proof).objects.filter(pk=proof.pk).update(status="rejected", reviewed_at=at(YESTERDAY, 22))
    services.rollup_day(day=YESTERDAY)
    assert DailyStat.objects.get(date=YESTERDAY).proofs_rejected == three_days[YESTERDAY]["proofs_rejected"] + 1


def test_events_at_midnight_belong_to_the_day_that_starts(three_days):
    next_morning = generate_activity(TODAY, scale=1)
    raw = selectors.raw_daily_figures(YESTERDAY, TODAY)
    assert raw[YESTERDAY]["apps_created"] == three_days[YESTERDAY]["apps_created"]
    assert raw[TODAY]["apps_created"] == next_morning["apps_created"]


def test_today_is_computed_live_without_a_rollup():
    expected = generate_activity(TODAY, scale=1)
    board = selectors.dashboard(TODAY, TODAY)
    assert board.live_days == [TODAY]
    assert board.totals["downloads"] == expected["downloads"]
    assert not DailyStat.objects.exists()


def test_rolled_up_days_are_read_from_the_rollup_not_the_raw_tables(three_days):
    services.rollup_day(day=YESTERDAY)
    DailyStat.objects.filter(date=YESTERDAY).update(downloads=12345)
    assert selectors.dashboard(YESTERDAY, YESTERDAY).totals["downloads"] == 12345


def test_today_and_future_days_cannot_be_rolled_up():
    with pytest.raises(services.PermanentJobError, match="not over yet"):
        services.rollup_day(day=TODAY)


def test_top_apps_rank_by_downloads_then_app(three_days):
    board = selectors.raw_dashboard(days_ago(3), days_ago(1), top=3)
    counts = [row["downloads"] for row in board.top_by_downloads]
    assert counts == sorted(counts, reverse=True)
    assert len(board.top_by_downloads) == 3
    assert all(row["proofs_approved"] > 0 for row in board.top_by_approved)


def test_funnel_reports_each_step_and_its_conversion(three_days):
    funnel = selectors.raw_dashboard(YESTERDAY, YESTERDAY).funnel
    expected = three_days[YESTERDAY]
    assert [step["count"] for step in funnel] == [
        expected["referral_visits"],
        expected["referral_signups"],
        expected["referral_verified"],
        expected["referral_credited"],
    ]
    assert funnel[0]["rate"] is None
    assert funnel[1]["rate"] == expected["referral_signups"] / expected["referral_visits"]


def funnel_of(visits, signups, verified, credited):
    totals = {**selectors.empty_figures(), "referral_visits": visits, "referral_signups": signups}
    totals.update(referral_verified=verified, referral_credited=credited)
    return selectors.Dashboard(start=YESTERDAY, end=YESTERDAY, totals=totals).funnel


def test_each_funnel_step_names_its_base():
    funnel = funnel_of(10, 4, 2, 1)
    assert funnel[0]["base"] is None
    assert funnel[1]["base"] == {"step": selectors.FIGURES["referral_visits"], "count": 10}
    assert [step["rate"] for step in funnel] == [None, 0.4, 0.5, 0.5]


def test_a_funnel_share_never_exceeds_its_base():
    """51 sign-ups over 1 visit in the range is not "5100 %": it is the whole base, flagged."""
    funnel = funnel_of(1, 51, 3, 3)
    assert funnel[1]["rate"] == 1.0 and funnel[1]["above_base"]
    assert not funnel[2]["above_base"]


def test_a_funnel_step_over_an_empty_base_has_no_share():
    assert funnel_of(0, 3, 0, 0)[1]["rate"] is None


def test_queue_reports_oldest_and_median_age_of_pending_proofs():
    now = timezone.now()
    for hours in (1, 2, 10):
        proof = ScreenshotProofFactory()
        type(proof).objects.filter(pk=proof.pk).update(submitted_at=now - datetime.timedelta(hours=hours))
    queue = selectors.moderation_queue(now=now)
    assert queue.pending == 3
    assert queue.oldest_age == datetime.timedelta(hours=10)
    assert queue.median_age == datetime.timedelta(hours=2)


def test_empty_queue_has_no_ages():
    assert selectors.moderation_queue() == selectors.QueueState()


def test_top_apps_over_several_weeks_with_gaps_match_the_raw_tables():
    reviewer = moderator()
    for n in (2, 8, 9, 15, 17):
        generate_activity(days_ago(n), scale=1, moderator=reviewer)
    for n in (2, 8, 15, 17):  # day 9 is left for the dashboard to count live
        services.rollup_day(day=days_ago(n))
    for start in (days_ago(20), days_ago(16), days_ago(9)):
        rolled, raw = selectors.dashboard(start, TODAY, top=50), selectors.raw_dashboard(start, TODAY, top=50)
        assert rolled.top_by_downloads == raw.top_by_downloads
        assert rolled.top_by_approved == raw.top_by_approved
        assert rolled.totals == raw.totals


def test_rerolling_a_day_rewrites_its_week():
    from reporting.models import WeeklyAppStat

    reviewer = moderator()
    generate_activity(YESTERDAY, scale=1, moderator=reviewer)
    services.rollup_day(day=YESTERDAY)
    monday = selectors.week_start(YESTERDAY)
    before = sum(WeeklyAppStat.objects.filter(week_start=monday).values_list("downloads", flat=True))
    ScreenshotProofFactory(download__app__name="Late app")
    from moderation.models import Download

    Download.objects.filter(app__name="Late app").update(created_at=at(YESTERDAY, 20))
    services.rollup_day(day=YESTERDAY)
    assert sum(WeeklyAppStat.objects.filter(week_start=monday).values_list("downloads", flat=True)) == before + 1


def test_todays_live_figures_are_shared_for_the_cache_lifetime(settings):
    from django.core.cache import cache

    settings.REPORTING_LIVE_CACHE_SECONDS = 60
    cache.clear()
    first = generate_activity(TODAY, scale=1)
    assert selectors.dashboard(TODAY, TODAY).totals["downloads"] == first["downloads"]
    generate_activity(TODAY, scale=1)
    assert selectors.dashboard(TODAY, TODAY).totals["downloads"] == first["downloads"]
    assert selectors.raw_dashboard(TODAY, TODAY).totals["downloads"] > first["downloads"]
    cache.clear()
