"""Benchmark: concurrent campaign redemption on PostgreSQL.

32 clients (threads, one DB connection each) redeem a campaign with 1,000 uses through
growth.campaigns.redeem_campaign, with 25% more would-be redeemers than uses, so the campaign runs out
under contention. Prints redemptions/s and the oversell count (must be 0), beside the rate of a bare
single-row `UPDATE counter SET n = n + 1` by the same number of clients on the same database in the
same run (the ceiling for anything that serializes on one row).

    .venv/bin/python bench/redeem.py [--scale 0.1] [--clients 32]
"""

import argparse
import json
import os
import queue
import sys
import threading
import time

from _common import prepare_django

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/bench_growth"


def create_members(cursor, count, prefix):
    """INSERT ... SELECT generate_series: members with phones, no ORM row by row."""
    cursor.execute(
        """
        INSERT INTO backoffice_user (password, is_superuser, first_name, last_name, is_staff, is_active,
                                     date_joined, email, phone, phone_verified_at, points_balance, referral_code)
        SELECT '!', false, 'Bench', '', false, true, now(), %(p)s || g || '@bench.test',
               '', now(), 0, substr(md5(%(p)s || g), 1, 16)
        FROM generate_series(1, %(n)s) AS g
        RETURNING id
        """,
        {"p": prefix, "n": count},
    )
    return [row[0] for row in cursor.fetchall()]


def run_threads(clients, work):
    barrier = threading.Barrier(clients + 1)
    threads = [threading.Thread(target=work, args=(barrier,)) for _ in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def bench_redeem(uses, clients):
    from datetime import timedelta
    from decimal import Decimal

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from growth.campaigns import RedemptionRefused, redeem_campaign
    from growth.models import Campaign, Redemption

    prefix = f"r{int(time.time())}x"
    with connection.cursor() as cursor:
        user_ids = create_members(cursor, int(uses * 1.25), prefix)
    now = timezone.now()
    campaign = Campaign.objects.create(
        name=f"bench {prefix}",
        discount_kind="percent",
        discount_value=Decimal("10"),
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=1),
        max_uses=uses,
        per_user_limit=1,
    )
    users = get_user_model().objects.in_bulk(user_ids)
    todo = queue.SimpleQueue()
    for user_id in user_ids:
        todo.put(users[user_id])
    outcomes = {"ok": 0, "refused": 0, "error": 0}
    lock = threading.Lock()

    def work(barrier):
        from django.db import connection as thread_connection

        thread_connection.ensure_connection()
        barrier.wait()
        try:
            while True:
                try:
                    user = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    redeem_campaign(
                        user=user,
                        campaign=campaign,
                        cart_total="40.00",
                        cart_reference="bench",
                        expected_points_cost=0,
                        idempotency_key="bench",
                    )
                    outcome = "ok"
                except RedemptionRefused:
                    outcome = "refused"
                except Exception:  # counted and reported: any error is a finding
                    outcome = "error"
                with lock:
                    outcomes[outcome] += 1
        finally:
            thread_connection.close()

    elapsed = run_threads(clients, work)
    campaign.refresh_from_db()
    redeemed = Redemption.objects.filter(campaign=campaign).count()
    return {
        "uses": uses,
        "attempts": len(user_ids),
        "seconds": elapsed,
        "redeemed": redeemed,
        "refused": outcomes["refused"],
        "errors": outcomes["error"],
        "oversell": max(0, redeemed - uses) + max(0, campaign.uses_count - uses),
        "counter_matches_rows": campaign.uses_count == redeemed,
    }


def bench_single_row_update(url, clients, total):
    """The same number of clients hammering one row with autocommit UPDATEs: the serialization ceiling."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_counter (id int PRIMARY KEY, n bigint NOT NULL)")
        conn.execute("INSERT INTO bench_counter VALUES (1, 0) ON CONFLICT (id) DO UPDATE SET n = 0")
    remaining = iter(range(total))
    lock = threading.Lock()

    def work(barrier):
        with psycopg.connect(url, autocommit=True) as conn:
            barrier.wait()
            while True:
                with lock:
                    if next(remaining, None) is None:
                        return
                conn.execute("UPDATE bench_counter SET n = n + 1 WHERE id = 1")

    elapsed = run_threads(clients, work)
    return {"updates": total, "seconds": elapsed}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full size (1,000 uses)")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    args = parser.parse_args()
    uses = max(int(1000 * args.scale), 20)

    prepare_django(args.database_url)
    from django.conf import settings

    settings.CONN_MAX_AGE = 0
    redeem = bench_redeem(uses, args.clients)
    update = bench_single_row_update(args.database_url, args.clients, redeem["attempts"])

    redeem_rate = redeem["redeemed"] / redeem["seconds"]
    attempt_rate = redeem["attempts"] / redeem["seconds"]
    update_rate = update["updates"] / update["seconds"]
    print(f"clients                     {args.clients}")
    print(f"campaign max uses           {uses}")
    print(f"redeem attempts             {redeem['attempts']} in {redeem['seconds']:.2f} s")
    print(f"redemptions                 {redeem['redeemed']}  ({redeem_rate:.0f}/s; attempts {attempt_rate:.0f}/s)")
    print(f"refused (no uses left)      {redeem['refused']}   errors {redeem['errors']}")
    print(f"OVERSELL                    {redeem['oversell']}  (must be 0)")
    print(f"single-row UPDATE           {update['updates']} in {update['seconds']:.2f} s  ({update_rate:.0f}/s)")
    print(f"redeem attempts / UPDATE    {attempt_rate / update_rate:.2f}x")
    result = {
        "bench": "redeem",
        "scale": args.scale,
        "clients": args.clients,
        "max_uses": uses,
        "attempts": redeem["attempts"],
        "redemptions": redeem["redeemed"],
        "redemptions_per_s": round(redeem_rate, 1),
        "attempts_per_s": round(attempt_rate, 1),
        "oversell": redeem["oversell"],
        "errors": redeem["errors"],
        "counter_matches_rows": redeem["counter_matches_rows"],
        "single_row_updates_per_s": round(update_rate, 1),
        "attempts_vs_update_ratio": round(attempt_rate / update_rate, 3),
    }
    print("BENCH_RESULT " + json.dumps(result))
    return 0 if redeem["oversell"] == 0 and redeem["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
