"""Benchmark: the 90-day business dashboard from DailyStat rollups vs. the same figures from the raw tables.

Full size: 10,000,000 ledger entries and 1,000,000 downloads spread over the last 365 days (plus proofs,
members, referrals, visits and redemptions in proportion), generated with INSERT ... SELECT generate_series.
Prints the median time of the 90-day dashboard read from rollups (today counted live from the raw tables,
shared by viewers for REPORTING_LIVE_CACHE_SECONDS as in production, and also recounted on every view),
the median time of computing the same figures from the raw tables, the ratios (target >= 50x), the time of
one day's rollup, and the admin page render time.

    .venv/bin/python bench/reporting.py [--scale 0.05] [--samples 7]
"""

import argparse
import datetime
import os
import sys
import time

from _common import Goal, finish, median_seconds, prepare_django

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/bench_reporting"
FULL = {"ledger": 10_000_000, "downloads": 1_000_000, "members": 100_000, "visits": 200_000, "redemptions": 50_000}
APPS = 500
DAYS = 365
RANGE_DAYS = 90
TARGET_RATIO = 50  # the rollups' dashboard at least this many times faster than the raw tables'


def sizes(scale):
    return {name: max(int(size * scale), 100) for name, size in FULL.items()}


# Every timestamp: a random moment in the last DAYS days, up to now (so today has its share, computed live).
WHEN = f"now() - random() * interval '{DAYS} days'"


def generate(n, regenerate=False):
    """(Re)build the bench data unless the same sizes are already there. Returns the seconds spent.

    Rows are inserted in time order, as an append-only table fills up in production.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM moderation_rewardentry")
        ledger = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM moderation_download")
        if (ledger, cursor.fetchone()[0]) == (n["ledger"], n["downloads"]) and not regenerate:
            return 0.0
        started = time.perf_counter()
        # Bench data only: skip foreign-key triggers while bulk loading (ids are generated consistently).
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(
            "TRUNCATE moderation_rewardentry, moderation_screenshotproof, moderation_historicalscreenshotproof, "
            "moderation_download, growth_redemption, growth_campaign, growth_referral, growth_referralvisit, "
            "reporting_dailystat, reporting_dailyappstat, catalog_app, catalog_historicalapp, catalog_category, "
            "backoffice_user RESTART IDENTITY CASCADE"
        )
        cursor.execute(
            f"""
            INSERT INTO backoffice_user (password, is_superuser, first_name, last_name, is_staff, is_active,
                                         date_joined, email, phone, points_balance, referral_code, phone_verified_at)
            SELECT '!', false, 'Member ' || g, '', false, true, j, 'm' || g || '@bench.test', '', 0,
                   substr(md5('m' || g), 1, 16), CASE WHEN g % 10 < 7 THEN j + interval '2 hours' END
            FROM (SELECT g, {WHEN} AS j FROM generate_series(1, {n["members"]}) AS g) AS s
            """
        )
        cursor.execute("INSERT INTO catalog_category (name, slug) VALUES ('Games', 'games')")
        cursor.execute(
            f"""
            INSERT INTO catalog_app (name, slug, category_id, image, thumbnail, description, points_reward,
                                     credit_price, active, created_at, updated_at)
            SELECT 'App ' || g, 'app-' || g, 1, '', '', '', 10 + g % 90, g % 20, true, {WHEN}, {WHEN}
            FROM generate_series(1, {APPS}) AS g
            """
        )
        # Download g: member 1 + g % members, app 1 + (g / members + g % members) % APPS: (user, app) stays unique.
        cursor.execute(
            f"""
            INSERT INTO moderation_download (user_id, app_id, created_at)
            SELECT 1 + g % {n["members"]}, 1 + (g / {n["members"]} + g % {n["members"]}) % {APPS}, {WHEN} AS t
            FROM generate_series(0, {n["downloads"] - 1}) AS g ORDER BY t
            """
        )
        # Seven downloads in ten have a proof: approved, rejected or invalidated; half of the last two days' wait.
        cursor.execute(
            """
            INSERT INTO moderation_screenshotproof (download_id, image, status, submitted_at, reviewed_at, reason)
            SELECT id, 'proofs/bench.png', s.status, s.submitted,
                   CASE WHEN s.status <> 'pending' THEN s.submitted + random() * interval '30 hours' END, ''
            FROM (
                SELECT id, created_at + random() * interval '3 hours' AS submitted,
                       CASE WHEN created_at > now() - interval '2 days' AND id % 2 = 0 THEN 'pending'
                            WHEN id % 10 < 7 THEN 'approved'
                            WHEN id % 10 < 9 THEN 'rejected' ELSE 'invalidated' END AS status
                FROM moderation_download WHERE id % 10 < 7
            ) AS s ORDER BY s.submitted
            """
        )
        cursor.execute(
            f"""
            INSERT INTO growth_referralvisit (referrer_id, created_at)
            SELECT 1 + g % {n["members"]}, {WHEN} AS t FROM generate_series(1, {n["visits"]}) AS g ORDER BY t
            """
        )
        # Every fifth member signed up with the code of the member before them.
        cursor.execute(
            """
            INSERT INTO growth_referral (referrer_id, referred_id, created_at, credited_at)
            SELECT id - 1, id, date_joined,
                   CASE WHEN phone_verified_at IS NOT NULL THEN phone_verified_at + interval '1 minute' END
            FROM backoffice_user WHERE id % 5 = 0
            """
        )
    from growth.campaigns import create_campaign
    from growth.models import Campaign

    campaign = create_campaign(
        campaign=Campaign(
            name="Bench campaign",
            discount_value=10,
            points_cost=50,
            starts_at=datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC),
            ends_at=datetime.datetime(2100, 1, 1, tzinfo=datetime.UTC),
            per_user_limit=1000,
        ),
        actor=None,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO growth_redemption (campaign_id, user_id, idempotency_key, cart_total, discount_amount,
                                           points_cost, created_at)
            SELECT {campaign.pk}, 1 + g % {n["members"]}, 'k' || g, 50 + g % 50, 5 + (g % 40) / 4.0, 0, {WHEN} AS t
            FROM generate_series(1, {n["redemptions"]}) AS g ORDER BY t
            """
        )
        # The ledger: earn 70%, referral 5%, invalidate 8%, redeem 12%, adjust 5% (sources left empty: bench only).
        cursor.execute(
            f"""
            INSERT INTO moderation_rewardentry (user_id, amount, kind, reason, balance_after, created_at)
            SELECT 1 + g % {n["members"]}, CASE k WHEN 'earn' THEN 10 + g % 90 WHEN 'referral' THEN 50
                                      WHEN 'invalidate' THEN -(10 + g % 90) WHEN 'redeem' THEN -50
                                      ELSE CASE WHEN g % 2 = 0 THEN 25 ELSE -5 END END,
                   k, '', 0, {WHEN} AS t
            FROM (
                SELECT g, CASE WHEN g % 100 < 70 THEN 'earn' WHEN g % 100 < 75 THEN 'referral'
                               WHEN g % 100 < 83 THEN 'invalidate' WHEN g % 100 < 95 THEN 'redeem'
                               ELSE 'adjust' END AS k
                FROM generate_series(1, {n["ledger"]}) AS g
            ) AS s ORDER BY t
            """
        )
        for table in [
            "backoffice_user",
            "moderation_download",
            "moderation_screenshotproof",
            "moderation_rewardentry",
            "growth_referral",
            "growth_referralvisit",
            "growth_redemption",
            "catalog_app",
        ]:
            cursor.execute(f"ANALYZE {table}")
        cursor.execute("SET session_replication_role = DEFAULT")
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full size (default 1.0)")
    parser.add_argument("--samples", type=int, default=7, help="timed runs of the rollup dashboard")
    parser.add_argument("--raw-samples", type=int, default=3, help="timed runs of the raw-table dashboard")
    parser.add_argument("--regenerate", action="store_true", help="rebuild the data even if the sizes match")
    parser.add_argument("--database", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    args = parser.parse_args()
    prepare_django(args.database)

    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from backoffice.roles import MARKETERS
    from backoffice.tests.factories import StaffFactory
    from reporting import selectors, services

    n = sizes(args.scale)
    print(f"scale {args.scale}: {n['ledger']:,} ledger entries, {n['downloads']:,} downloads over {DAYS} days")
    generated = generate(n, args.regenerate)
    print(f"generated in {generated:.1f} s" if generated else "data already there")

    today = timezone.localdate()
    start, yesterday = today - datetime.timedelta(days=RANGE_DAYS - 1), today - datetime.timedelta(days=1)
    started = time.perf_counter()
    services.rollup_days(start=start, end=yesterday)
    print(f"rolled up {RANGE_DAYS - 1} days in {time.perf_counter() - started:.1f} s")
    with connection.cursor() as cursor:  # what autovacuum does in production between the nightly rollups
        cursor.execute("VACUUM ANALYZE reporting_dailystat")
        cursor.execute("VACUUM ANALYZE reporting_dailyappstat")
    one_day = median_seconds(lambda: services.rollup_day(day=yesterday), 3)

    rolled = selectors.dashboard(start, today)
    raw = selectors.raw_dashboard(start, today)
    assert rolled.totals == raw.totals, "rollups and raw tables disagree"
    assert rolled.top_by_downloads == raw.top_by_downloads and rolled.top_by_approved == raw.top_by_approved
    from django.conf import settings
    from django.core.cache import cache

    live_cache = settings.REPORTING_LIVE_CACHE_SECONDS
    settings.REPORTING_LIVE_CACHE_SECONDS = 0
    uncached = median_seconds(lambda: selectors.dashboard(start, today), args.samples)
    settings.REPORTING_LIVE_CACHE_SECONDS = live_cache or 60
    cache.clear()
    selectors.dashboard(start, today)  # the first viewer of the minute counts today
    cached = median_seconds(lambda: selectors.dashboard(start, today), args.samples)
    from_raw = median_seconds(lambda: selectors.raw_dashboard(start, today), args.raw_samples)

    marketer = StaffFactory(email=f"bench-marketer-{time.time_ns()}@bench.test", phone="", role=MARKETERS)
    client = Client()
    client.force_login(marketer)
    url = f"/admin/business-reports/?start={start}&end={today}"
    assert client.get(url).status_code == 200
    page = median_seconds(lambda: client.get(url), args.samples)

    ratio, ratio_uncached = from_raw / cached, from_raw / uncached
    print()
    print(f"90-day dashboard from rollups, today shared for {settings.REPORTING_LIVE_CACHE_SECONDS} s (default):")
    print(f"                                          {cached * 1000:9.1f} ms (median of {args.samples})")
    print("90-day dashboard from rollups, today recounted on every view:")
    print(f"                                          {uncached * 1000:9.1f} ms (median of {args.samples})")
    print(f"the same figures from the raw tables:     {from_raw * 1000:9.1f} ms (median of {args.raw_samples})")
    print(f"ratio, default (today cached 60 s):       {ratio:9.1f}x (target >= {TARGET_RATIO}x)")
    print(f"ratio, today recounted on every view:     {ratio_uncached:9.1f}x")
    print(f"one day's rollup:                         {one_day * 1000:9.1f} ms")
    print(f"admin page render, 90 days from rollups:  {page * 1000:9.1f} ms")
    result = {
        "scale": args.scale,
        "ledger_entries": n["ledger"],
        "downloads": n["downloads"],
        "dashboard_90d_rollups_ms": round(cached * 1000, 2),
        "dashboard_90d_rollups_today_uncached_ms": round(uncached * 1000, 2),
        "dashboard_90d_raw_ms": round(from_raw * 1000, 2),
        "ratio": round(ratio, 1),
        "ratio_today_uncached": round(ratio_uncached, 1),
        "target_ratio": TARGET_RATIO,
        "meets_target_today_uncached": ratio_uncached >= TARGET_RATIO,
        "rollup_one_day_ms": round(one_day * 1000, 2),
        "page_render_90d_ms": round(page * 1000, 2),
    }
    goals = [
        Goal(
            "90-day dashboard from rollups vs raw tables (today cached, the default)",
            f"{ratio:.1f}x faster",
            f">= {TARGET_RATIO}x",
            ratio >= TARGET_RATIO,
        )
    ]
    return finish("reporting", result, goals)


if __name__ == "__main__":
    sys.exit(main())
