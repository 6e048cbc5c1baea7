"""Benchmark: the referral leaderboard over 1,000,000 members, on PostgreSQL and Redis.

Every member gets a referrer score (skewed: most have few credited referrals, a few have many). Prints the
median latency of page 1, the middle page and the last page, uncached (straight from PostgreSQL) beside the
goal (issue 16: every page <= 2x page 1 uncached; pages are keyset seeks, growth.selectors), the cached figures
(Redis through the Django cache, the production setup), a member's own rank, and the cost of a stale cursor
(one minted before the last referral credit: its rank is recounted with a COUNT over the index ahead of it).
Exits non-zero when a page misses the goal.

    .venv/bin/python bench/leaderboard.py [--scale 0.05] [--samples 40]
"""

import argparse
import os
import random
import statistics
import sys
import time

from _common import Goal, finish, prepare_django

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
        return time.perf_counter() - started


def vacuum():
    """Set the visibility map, as autovacuum would on a live board: counts and seeks become index-only scans."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE backoffice_user")
        cursor.execute("VACUUM ANALYZE growth_referrerscore")


def place_at(position):
    """(score, user_id) of the row at a 1-based position in board order: an OFFSET, for the set-up only."""
    from growth.models import ReferrerScore

    return (
        ReferrerScore.objects.filter(credited_referrals__gt=0)
        .order_by("-credited_referrals", "user_id")
        .values_list("credited_referrals", "user_id")[position - 1]
    )


def median_ms(function, arguments):
    timings = []
    for argument in arguments:
        started = time.perf_counter()
        function(argument)
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def interleaved_medians_ms(functions, rounds):
    timings = [[] for _ in functions]
    for round_number in range(rounds):
        order = list(range(len(functions)))
        order = order[round_number % len(order) :] + order[: round_number % len(order)]
        for index in order:
            started = time.perf_counter()
            functions[index](round_number)
            timings[index].append((time.perf_counter() - started) * 1000)
    return [statistics.median(series) for series in timings]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of 1,000,000 members")
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"))
    args = parser.parse_args()
    size = max(int(FULL_SIZE * args.scale), 1000)

    prepare_django(args.database_url, redis_url=args.redis_url)
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.cache import cache

    from backoffice.cache import forget_local_cache
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
    vacuum()
    per_page = selectors.LEADERBOARD_PAGE_SIZE
    version = selectors._leaderboard_version()
    middle_position = max(ranked // 2 // per_page * per_page, 1)
    last_position = max((ranked - 1) // per_page * per_page, 1)
    middle = selectors.leaderboard_cursor("a", *place_at(middle_position), version)
    last = selectors.leaderboard_cursor("a", *place_at(last_position), version)
    before_middle = selectors.leaderboard_cursor("b", *place_at(middle_position + 1), version)
    stale_middle = selectors.leaderboard_cursor("a", *place_at(middle_position), version - 1)

    def uncached(cursor):
        return lambda _sample: selectors.leaderboard_page_uncached(cursor, per_page, version)

    # Interleaved, so a noisy neighbour on a shared machine slows every page alike, not whichever ran then.
    samples = range(args.samples)
    page1_uncached, middle_uncached, last_uncached, previous_uncached = interleaved_medians_ms(
        [uncached(None), uncached(middle), uncached(last), uncached(before_middle)], args.samples
    )
    stale_uncached = median_ms(uncached(stale_middle), range(max(args.samples // 4, 3)))
    rank_uncached = median_ms(selectors.own_rank_uncached, sample)

    cache.clear()
    selectors.leaderboard_page()
    for user in sample:
        selectors.own_rank(user)
    page1_local = median_ms(lambda _sample: selectors.leaderboard_page(), samples)

    def from_redis(_sample):
        forget_local_cache()
        selectors.leaderboard_page()

    page1_cached = median_ms(from_redis, samples)
    rank_cached = median_ms(selectors.own_rank, sample)
    middle_rows = selectors.leaderboard_page_uncached(middle, per_page, version)["rows"]
    assert middle_rows[0].position == middle_position + 1, "the middle cursor starts the page after its row"

    goal_ms = 2 * page1_uncached
    figures = [
        ("page 1", page1_uncached, None),
        (f"middle (places {middle_position + 1:,}-)", middle_uncached, goal_ms),
        (f"last (places {last_position + 1:,}-)", last_uncached, goal_ms),
        ("middle, by Previous", previous_uncached, goal_ms),
    ]
    missed = [name for name, value, goal in figures if goal is not None and value > goal]
    print(f"members                     {size:,} ({ranked:,} ranked)   data built in {generated:.1f} s")
    print(f"goal: every page uncached <= 2x page 1 uncached = {goal_ms:.2f} ms (keyset seeks on referrer_score_keyset)")
    for name, value, goal in figures:
        verdict = "" if goal is None else ("ok" if value <= goal else "MISSED")
        print(f"{name:28}uncached {value:8.2f} ms   {verdict}")
    print(f"page 1        cached        {page1_cached:8.2f} ms from Redis, {page1_local:.3f} ms from process memory")
    print(f"own rank      uncached      {rank_uncached:8.2f} ms   cached (Redis) {rank_cached:6.2f} ms")
    print(f"stale cursor  uncached      {stale_uncached:8.2f} ms   (rank recounted: COUNT over the index ahead)")
    print("all pages within the goal" if not missed else f"MISSED: {', '.join(missed)}")
    result = {
        "scale": args.scale,
        "members": size,
        "ranked": ranked,
        "page1_uncached_ms": round(page1_uncached, 3),
        "page1_cached_ms": round(page1_cached, 3),
        "page1_process_memory_ms": round(page1_local, 3),
        "middle_page_uncached_ms": round(middle_uncached, 3),
        "last_page_uncached_ms": round(last_uncached, 3),
        "previous_page_uncached_ms": round(previous_uncached, 3),
        "stale_cursor_uncached_ms": round(stale_uncached, 3),
        "own_rank_uncached_ms": round(rank_uncached, 3),
        "own_rank_cached_ms": round(rank_cached, 3),
        "goal_ms": round(goal_ms, 3),
        "missed": missed,
    }
    cache.clear()
    goals = [
        Goal(f"{name} uncached vs 2x page 1 uncached", f"{value:.2f} ms", f"<= {goal:.2f} ms", value <= goal)
        for name, value, goal in figures
        if goal is not None
    ]
    return finish("leaderboard", result, goals)


if __name__ == "__main__":
    sys.exit(main())
