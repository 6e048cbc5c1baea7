"""Benchmark: the referral leaderboard over 1,000,000 members, on PostgreSQL and Redis.

Every member gets a referrer score (skewed: most have few credited referrals, a few have many). Prints the
median latency of page 1 and of a member's own rank, uncached (straight from PostgreSQL) and cached
(Redis through the Django cache, the production setup), side by side.

    .venv/bin/python bench/leaderboard.py [--scale 0.05] [--samples 40]
"""

import argparse
import json
import os
import random
import statistics
import sys
import time

from _common import prepare_django

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/bench_growth_leaderboard"
FULL_SIZE = 1_000_000


def generate(size):
    """(Re)build `size` bench members and their scores with INSERT ... SELECT generate_series."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM backoffice_user WHERE email LIKE 'lb%%@bench.test'")
        if cursor.fetchone()[0] == size:
            return 0.0
        started = time.perf_counter()
        cursor.execute(
            "DELETE FROM growth_referrerscore WHERE user_id IN "
            "(SELECT id FROM backoffice_user WHERE email LIKE 'lb%%@bench.test')"
        )
        cursor.execute("DELETE FROM backoffice_user WHERE email LIKE 'lb%%@bench.test'")
        cursor.execute(
            """
            INSERT INTO backoffice_user (password, is_superuser, first_name, last_name, is_staff, is_active,
                                         date_joined, email, phone, points_balance, referral_code)
            SELECT '!', false, 'Member ' || g, '', false, true, now(), 'lb' || g || '@bench.test', '', 0,
                   substr(md5('lb' || g), 1, 16)
            FROM generate_series(1, %s) AS g
            """,
            [size],
        )
        # floor(random()^6 * 300): about 60% of members have at least one credited referral, a few have hundreds.
        cursor.execute(
            """
            INSERT INTO growth_referrerscore (user_id, credited_referrals, last_credited_at)
            SELECT id, floor(power(random(), 6) * 300)::int, now() - random() * interval '90 days'
            FROM backoffice_user WHERE email LIKE 'lb%%@bench.test'
            """
        )
        cursor.execute("ANALYZE backoffice_user")
        cursor.execute("ANALYZE growth_referrerscore")
        return time.perf_counter() - started


def median_ms(function, arguments):
    timings = []
    for argument in arguments:
        started = time.perf_counter()
        function(argument)
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of 1,000,000 members")
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"))
    args = parser.parse_args()
    size = max(int(FULL_SIZE * args.scale), 1000)

    prepare_django(args.database_url, redis_url=args.redis_url)
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.cache import cache

    from growth import selectors

    assert "redis" in settings.CACHES["default"]["BACKEND"].lower(), "the cached figures must come from Redis"
    generated = generate(size)
    ranked = selectors.ReferrerScore.objects.filter(credited_referrals__gt=0).count()
    rng = random.Random(7)
    member_ids = list(
        get_user_model().objects.filter(email__startswith="lb").order_by("?").values_list("pk", flat=True)[:2000]
    )
    ranked_ids = set(
        selectors.ReferrerScore.objects.filter(pk__in=member_ids, credited_referrals__gt=0).values_list("pk", flat=True)
    )
    sample = [get_user_model()(pk=pk) for pk in rng.sample(sorted(ranked_ids), min(args.samples, len(ranked_ids)))]
    pages = [1] * args.samples

    page1_uncached = median_ms(lambda page: selectors.leaderboard_page_uncached(page), pages)
    rank_uncached = median_ms(selectors.own_rank_uncached, sample)

    cache.clear()
    selectors.leaderboard_page(1)
    for user in sample:
        selectors.own_rank(user)
    page1_cached = median_ms(selectors.leaderboard_page, pages)
    rank_cached = median_ms(selectors.own_rank, sample)
    deep_page = max(ranked // selectors.LEADERBOARD_PAGE_SIZE // 2, 1)
    deep_uncached = median_ms(selectors.leaderboard_page_uncached, [deep_page] * max(args.samples // 4, 3))

    print(f"members                     {size:,} ({ranked:,} ranked)   data built in {generated:.1f} s")
    print(f"page 1        uncached      {page1_uncached:8.2f} ms   cached (Redis) {page1_cached:6.2f} ms")
    print(f"own rank      uncached      {rank_uncached:8.2f} ms   cached (Redis) {rank_cached:6.2f} ms")
    print(f"page {deep_page:<8} uncached      {deep_uncached:8.2f} ms   (middle of the board, for scale)")
    speedups = f"page 1 {page1_uncached / page1_cached:.0f}x, own rank {rank_uncached / rank_cached:.0f}x"
    print(f"cache speed-up              {speedups}")
    result = {
        "bench": "leaderboard",
        "scale": args.scale,
        "members": size,
        "ranked": ranked,
        "page1_uncached_ms": round(page1_uncached, 3),
        "page1_cached_ms": round(page1_cached, 3),
        "own_rank_uncached_ms": round(rank_uncached, 3),
        "own_rank_cached_ms": round(rank_cached, 3),
        "middle_page_uncached_ms": round(deep_uncached, 3),
    }
    cache.clear()
    print("BENCH_RESULT " + json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
