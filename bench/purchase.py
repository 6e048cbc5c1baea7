"""Benchmark: app purchases under contention, and incremental sync of purchases through the data API (PostgreSQL).

1. 32 member processes buy apps through commerce.purchases.buy_app. Every (member, app) pair is attempted
   by two processes at once (process i buys for members i and i+1), so each pair races: exactly one
   purchase may win. Prints purchases/s beside a bare single-row `UPDATE n = n + 1` by as many processes
   on the same database in the same run, the double purchases (must be 0) and whether every balance still
   equals the sum of its ledger entries.
2. 1,000,000 purchases (INSERT ... SELECT) pulled through GET /api/v1/purchases/ with an OAuth2 token in
   pages of 1,000, following the signed cursor. Prints the time of the first, middle and last pages
   (each the mean of 5 pages); goal: the last pages take at most 2x the first (keyset, not OFFSET).

    .venv/bin/python bench/purchase.py [--scale 0.1] [--processes 32]
"""

import argparse
import os
import sys
import time

from _common import Goal, finish, prepare_django, run_processes

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/bench_commerce"
PAGE_GOAL = 2.0  # last pages at most this many times the first
SAMPLE_PAGES = 5


def create_members(cursor, count, prefix, points):
    cursor.execute(
        """
        INSERT INTO backoffice_user (password, is_superuser, first_name, last_name, is_staff, is_active,
                                     date_joined, email, phone, phone_verified_at, points_balance, referral_code)
        SELECT '!', false, 'Bench', '', false, true, now(), %(p)s || g || '@bench.test',
               '+1999' || lpad(g::text, 7, '0') || %(s)s, now(), 0, substr(md5(%(p)s || g), 1, 16)
        FROM generate_series(1, %(n)s) AS g
        RETURNING id
        """,
        {"p": prefix, "n": count, "s": str(abs(hash(prefix)) % 1000)},
    )
    ids = [row[0] for row in cursor.fetchall()]
    if points:
        # Opening balances as ledger entries, so balance = sum(entries) holds from the start.
        cursor.execute(
            """
            INSERT INTO moderation_rewardentry (user_id, amount, kind, reason, balance_after, created_at)
            SELECT id, %(pts)s, 'adjust', 'bench opening balance', %(pts)s, now() FROM backoffice_user
            WHERE id = ANY(%(ids)s)
            """,
            {"pts": points, "ids": ids},
        )
        cursor.execute("UPDATE backoffice_user SET points_balance = %s WHERE id = ANY(%s)", [points, ids])
    return ids


def create_apps(cursor, count, prefix):
    cursor.execute("INSERT INTO catalog_category (name, slug) VALUES (%s, %s) RETURNING id", [prefix, prefix])
    category = cursor.fetchone()[0]
    cursor.execute(
        """
        INSERT INTO catalog_app (name, slug, category_id, image, thumbnail, description, points_reward,
                                 credit_price, active, created_at, updated_at)
        SELECT 'Bench ' || g, %(p)s || '-' || g, %(c)s, '', '', '', 5, 1 + g %% 9, true, now(), now()
        FROM generate_series(1, %(n)s) AS g
        RETURNING id
        """,
        {"p": prefix, "c": category, "n": count},
    )
    return [row[0] for row in cursor.fetchall()]


def buyer(index, member_ids, app_ids, release, results):
    """One process: buys every app for member `index` and member `index + 1`, interleaved (each pair races)."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from commerce.errors import PurchaseRefused
    from commerce.purchases import buy_app

    connection.close()  # never share the parent's connection
    from catalog.models import App

    User = get_user_model()
    mine = [User.objects.get(pk=member_ids[index]), User.objects.get(pk=member_ids[(index + 1) % len(member_ids)])]
    apps = list(App.objects.filter(pk__in=app_ids).order_by("pk"))
    counts = {"ok": 0, "refused": 0, "error": 0}
    release.wait()
    for app in apps:
        for member in mine:
            try:
                buy_app(member=member, app=app, idempotency_key=f"p{index}-{app.pk}-{member.pk}")
                counts["ok"] += 1
            except PurchaseRefused:
                counts["refused"] += 1
            except Exception:  # counted and reported: any error is a finding
                counts["error"] += 1
    counts["finished"] = time.perf_counter()
    connection.close()
    results.put(counts)


def updater(url, count, release, results):
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        release.wait()
        for _ in range(count):
            conn.execute("UPDATE bench_counter SET n = n + 1 WHERE id = 1")
    results.put({"finished": time.perf_counter()})


def bench_buying(url, processes, apps_per_member):
    from django.db import connection

    from commerce.models import Purchase
    from moderation.selectors import users_with_unbalanced_ledger

    prefix = f"b{int(time.time())}"
    with connection.cursor() as cursor:
        member_ids = create_members(cursor, processes, prefix, points=10 * apps_per_member)
        app_ids = create_apps(cursor, apps_per_member, prefix)
    connection.close()
    from wagtail import hooks

    hooks.get_hooks("backoffice_event")  # load every app's hooks once, before forking, not inside the timing
    elapsed, counts = run_processes([(buyer, (i, member_ids, app_ids)) for i in range(processes)])
    bought = sum(c["ok"] for c in counts)
    doubles = (
        Purchase.objects.filter(member_id__in=member_ids, refunded_at__isnull=True)
        .values("member_id", "app_id")
        .order_by()
        .annotate(n=__import__("django.db.models", fromlist=["Count"]).Count("pk"))
        .filter(n__gt=1)
        .count()
    )
    unbalanced = len(users_with_unbalanced_ledger())
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_counter (id int PRIMARY KEY, n bigint NOT NULL)")
        cursor.execute("INSERT INTO bench_counter VALUES (1, 0) ON CONFLICT (id) DO UPDATE SET n = 0")
    connection.close()
    per_process = max(bought // processes, 200)
    update_elapsed, _ = run_processes([(updater, (url, per_process)) for _ in range(processes)])
    return {
        "attempts": sum(c["ok"] + c["refused"] + c["error"] for c in counts),
        "purchases": bought,
        "expected_purchases": processes * apps_per_member,
        "refused": sum(c["refused"] for c in counts),
        "errors": sum(c["error"] for c in counts),
        "seconds": elapsed,
        "double_purchases": doubles,
        "unbalanced_users": unbalanced,
        "updates": per_process * processes,
        "update_seconds": update_elapsed,
    }


def seed_purchases(total):
    """`total` purchases over sqrt(total) members x apps, timestamps one millisecond apart, in the past."""
    from django.db import connection

    side = int(total**0.5) + 1
    prefix = f"s{int(time.time())}"
    with connection.cursor() as cursor:
        # Earlier runs' seeded rows would fall in this run's window; the sync must read this run's million.
        cursor.execute("DELETE FROM commerce_purchase WHERE idempotency_key LIKE 'seed-%%'")
        members = create_members(cursor, side, prefix, points=0)
        apps = create_apps(cursor, side, prefix)
        cursor.execute(
            """
            INSERT INTO commerce_purchase (member_id, app_id, price_paid, idempotency_key, request_hash,
                                           refund_reason, created_at, updated_at)
            SELECT (%(m)s::bigint[])[1 + (g - 1) / %(side)s], (%(a)s::bigint[])[1 + (g - 1) %% %(side)s],
                   0, 'seed-' || g, '-', '', t, t
            FROM generate_series(1, %(n)s) AS g,
                 LATERAL (SELECT now() - interval '1 day' + g * interval '1 millisecond') AS ts(t)
            """,
            {"m": members, "a": apps, "side": side, "n": total},
        )
        cursor.execute("ANALYZE commerce_purchase")


def bench_sync(total, page_size):
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from commerce.models import Purchase
    from integrations.clients import create_client
    from integrations.tests.helpers import token_response

    since_at = timezone.now() - timezone.timedelta(days=1, minutes=1)  # before seeding: every seeded row is after
    started = time.perf_counter()
    seed_purchases(total)
    seeded = time.perf_counter() - started
    client, secret = create_client(name=f"bench {time.time()}", scopes=["purchases:read"], created_by=None)
    http = Client()
    token = token_response(client.client_id, secret, http=None).json()["access_token"]
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    http.get("/api/v1/purchases/", {"page_size": 1}, **headers)  # warm-up: first-request imports are not a page
    since = since_at.isoformat()
    expected = Purchase.objects.filter(updated_at__gte=since_at).count()
    params = {"page_size": page_size, "updated_since": since}
    timings, rows = [], 0
    while True:
        t0 = time.perf_counter()
        response = http.get("/api/v1/purchases/", params, **headers)
        timings.append(time.perf_counter() - t0)
        assert response.status_code == 200, response.content[:500]
        body = response.json()
        rows += len(body["results"])
        if not body["next"]:
            break
        params = {"page_size": page_size, "updated_since": since, "cursor": body["next_cursor"]}
    connection.close()
    full = [t for t in timings if t]  # every page; the last may be short
    middle = len(full) // 2
    return {
        "seeded_rows": total,
        "expected_rows": expected,
        "seed_seconds": seeded,
        "rows_pulled": rows,
        "pages": len(timings),
        "first_ms": 1000 * sum(full[:SAMPLE_PAGES]) / SAMPLE_PAGES,
        "middle_ms": 1000 * sum(full[middle : middle + SAMPLE_PAGES]) / SAMPLE_PAGES,
        "last_ms": 1000 * sum(full[-SAMPLE_PAGES - 1 : -1]) / SAMPLE_PAGES,
        "total_seconds": sum(timings),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full size (1,000,000 purchases)")
    parser.add_argument("--processes", type=int, default=32)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    args = parser.parse_args()
    # No connection pool: the buyers are forked, and a forked child must not inherit the parent's pooled sockets.
    prepare_django(
        args.database_url,
        DATA_API_THROTTLE_RATE="100000/second",
        DATA_API_SYNC_LAG_SECONDS="0",
        LOG_LEVEL="ERROR",
        DB_POOL_MAX_SIZE="0",
    )
    apps_per_member = max(int(50 * args.scale), 5)
    buying = bench_buying(args.database_url.replace("postgres://", "postgresql://", 1), args.processes, apps_per_member)
    sync = bench_sync(max(int(1_000_000 * args.scale), 20_000), 1000)

    rate = buying["purchases"] / buying["seconds"]
    attempt_rate = buying["attempts"] / buying["seconds"]
    update_rate = buying["updates"] / buying["update_seconds"]
    ratio = sync["last_ms"] / sync["first_ms"]
    print(f"processes                   {args.processes} (each (member, app) attempted by 2 at once)")
    print(f"purchases                   {buying['purchases']} of {buying['expected_purchases']} possible")
    print(f"  in                        {buying['seconds']:.2f} s ({rate:.0f}/s; attempts {attempt_rate:.0f}/s)")
    print(f"refused (already bought)    {buying['refused']}   errors {buying['errors']}")
    print(f"DOUBLE PURCHASES            {buying['double_purchases']}  (must be 0)")
    print(f"UNBALANCED LEDGERS          {buying['unbalanced_users']}  (must be 0)")
    print(f"single-row UPDATE           {buying['updates']} in {buying['update_seconds']:.2f} s ({update_rate:.0f}/s)")
    print(f"purchase attempts / UPDATE  {attempt_rate / update_rate:.2f}x")
    print(f"sync: {sync['seeded_rows']} purchases seeded; {sync['rows_pulled']} of {sync['expected_rows']} rows")
    print(f"  since the day before, in  {sync['pages']} pages of 1,000 ({sync['total_seconds']:.0f} s)")
    print(f"  first pages               {sync['first_ms']:.1f} ms / page (mean of {SAMPLE_PAGES})")
    print(f"  middle pages              {sync['middle_ms']:.1f} ms / page")
    print(f"  last pages                {sync['last_ms']:.1f} ms / page")
    print(f"  last / first              {ratio:.2f}x  (goal: <= {PAGE_GOAL:.0f}x)")
    result = {
        "scale": args.scale,
        "processes": args.processes,
        "purchases": buying["purchases"],
        "purchases_per_s": round(rate, 1),
        "attempts_per_s": round(attempt_rate, 1),
        "single_row_updates_per_s": round(update_rate, 1),
        "double_purchases": buying["double_purchases"],
        "unbalanced_users": buying["unbalanced_users"],
        "errors": buying["errors"],
        "sync_rows": sync["rows_pulled"],
        "sync_first_page_ms": round(sync["first_ms"], 1),
        "sync_middle_page_ms": round(sync["middle_ms"], 1),
        "sync_last_page_ms": round(sync["last_ms"], 1),
        "sync_last_vs_first": round(ratio, 2),
    }
    expected, pulled = buying["expected_purchases"], sync["rows_pulled"]
    goals = [
        Goal("double purchases", str(buying["double_purchases"]), "= 0", buying["double_purchases"] == 0),
        Goal(
            "ledgers not matching their balance",
            str(buying["unbalanced_users"]),
            "= 0",
            buying["unbalanced_users"] == 0,
        ),
        Goal("purchase errors", str(buying["errors"]), "= 0", buying["errors"] == 0),
        Goal("purchases made", f"{buying['purchases']}", f"= {expected} possible", buying["purchases"] == expected),
        Goal("sync rows pulled", f"{pulled}", f"= {sync['expected_rows']} expected", pulled == sync["expected_rows"]),
        Goal("sync last pages vs first pages", f"{ratio:.2f}x", f"<= {PAGE_GOAL:g}x", ratio <= PAGE_GOAL),
    ]
    return finish("purchase", result, goals)


if __name__ == "__main__":
    sys.exit(main())
