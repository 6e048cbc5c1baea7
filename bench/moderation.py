"""Moderation benchmark (PostgreSQL): the queue page against a bare SELECT of the same rows, and approvals/s.

Full size (--scale 1.0): 1,000,000 proofs of which 100,000 pending, generated with generate_series.
Prints a table and a final `BENCH_RESULT {...}` JSON line.

    .venv/bin/python bench/moderation.py --scale 0.05
"""

import argparse
import json
import os
import statistics
import time

from _common import prepare_django

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_moderation"
APPS = 20
FULL_PROOFS, FULL_PENDING, APPROVALS = 1_000_000, 100_000, 1_000


def generate(proofs, pending):
    """Users × apps downloads, one proof each; the oldest `pending` proofs wait, the rest are rejected."""
    from django.db import connection

    from catalog.models import App, Category

    users = -(-proofs // APPS)
    with connection.cursor() as cur:
        cur.execute(
            "TRUNCATE moderation_rewardentry, moderation_historicalscreenshotproof, moderation_screenshotproof,"
            " moderation_download, backoffice_notification RESTART IDENTITY CASCADE"
        )
        cur.execute("DELETE FROM backoffice_user WHERE email LIKE 'bench%%' AND NOT is_staff")
    category, _ = Category.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    apps = [
        App.objects.get_or_create(
            slug=f"bench-{i}", defaults={"name": f"Bench app {i}", "category": category, "points_reward": 10 + i}
        )[0]
        for i in range(APPS)
    ]
    with connection.cursor() as cur:
        cur.execute(
            """
            INSERT INTO backoffice_user (password, is_superuser, first_name, last_name, is_staff, is_active,
                date_joined, email, phone, phone_verified_at, points_balance, referral_code)
            SELECT '!', false, 'Bench', '', false, true, now(), 'bench-member-' || g || '@example.test', '', now(), 0,
                'b' || g
            FROM generate_series(1, %s) g
            """,
            [users],
        )
        cur.execute(
            """
            INSERT INTO moderation_download (user_id, app_id, created_at)
            SELECT u.id, a.id, now() - interval '60 days'
            FROM (SELECT id FROM backoffice_user WHERE email LIKE 'bench-member-%%') u
            CROSS JOIN (SELECT id FROM catalog_app WHERE id = ANY(%s)) a
            ORDER BY u.id, a.id LIMIT %s
            """,
            [[app.pk for app in apps], proofs],
        )
        cur.execute(
            """
            INSERT INTO moderation_screenshotproof (download_id, image, status, submitted_at, reason)
            SELECT d.id, 'proofs/bench.png',
                   CASE WHEN d.rn <= %s THEN 'pending' ELSE 'rejected' END,
                   now() - make_interval(secs => (%s - d.rn)), ''
            FROM (SELECT id, row_number() OVER (ORDER BY random()) rn FROM moderation_download) d
            """,
            [pending, proofs],
        )
        cur.execute(
            "UPDATE moderation_screenshotproof SET reviewed_at = submitted_at + interval '1 hour',"
            " reason = 'bench' WHERE status = 'rejected'"
        )
        # The UPDATE above leaves a dead row version per rejected proof: vacuum, as autovacuum soon would, so each run
        # measures a settled table.
        cur.execute("VACUUM ANALYZE")


def moderator():
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    user, _ = get_user_model().objects.get_or_create(email="bench-moderator@example.test", defaults={"is_staff": True})
    user.groups.add(Group.objects.get(name="Moderators"))
    return user


def timed(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


BARE_PAGE = """
    SELECT p.*, d.*, a.*, u.* FROM moderation_screenshotproof p
    JOIN moderation_download d ON d.id = p.download_id
    JOIN catalog_app a ON a.id = d.app_id
    JOIN backoffice_user u ON u.id = d.user_id
    WHERE p.status = 'pending' ORDER BY p.submitted_at, p.id LIMIT %s
"""


def measure_queue(repeat):
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from moderation.views import QUEUE_PAGE_SIZE

    client = Client()
    client.force_login(moderator())
    client.get("/admin/moderation/")  # the first render claims a proof; later ones find the claim held
    query_counts = []
    for path in ("/admin/moderation/", "/admin/moderation/?page=2", "/admin/moderation/?page=50"):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(path).status_code == 200
        query_counts.append(len(queries))
    page_s = timed(lambda: client.get("/admin/moderation/"), repeat)
    chrome_s = timed(lambda: client.get("/admin/"), repeat)

    def bare():
        with connection.cursor() as cur:
            cur.execute(BARE_PAGE, [QUEUE_PAGE_SIZE])
            cur.fetchall()

    bare_s = timed(bare, repeat)
    return query_counts, page_s, bare_s, chrome_s


def measure_approvals(count):
    from moderation.models import ScreenshotProof
    from moderation.proofs import approve_proof

    mod = moderator()
    proofs = list(ScreenshotProof.objects.filter(status="pending").order_by("submitted_at", "pk")[:count])
    start = time.perf_counter()
    for proof in proofs:
        approve_proof(proof=proof, moderator=mod)
    elapsed = time.perf_counter() - start
    return len(proofs), elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full size (default 1.0)")
    parser.add_argument("--repeat", type=int, default=20, help="timed page renders (median)")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    args = parser.parse_args()
    proofs, pending = max(APPS, int(FULL_PROOFS * args.scale)), max(1, int(FULL_PENDING * args.scale))
    approvals = min(APPROVALS, pending)

    prepare_django(
        args.database_url,
        EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
        CELERY_TASK_ALWAYS_EAGER="1",
    )
    start = time.perf_counter()
    generate(proofs, pending)
    generate_s = time.perf_counter() - start
    print(f"generated {proofs:,} proofs ({pending:,} pending) in {generate_s:.1f} s")

    query_counts, page_s, bare_s, chrome_s = measure_queue(args.repeat)
    approved, approve_s = measure_approvals(approvals)

    from moderation.selectors import users_with_unbalanced_ledger

    ledger_ok = not users_with_unbalanced_ledger().exists()
    result = {
        "scale": args.scale,
        "proofs": proofs,
        "pending": pending,
        "queue_queries": query_counts,
        "queue_queries_constant": len(set(query_counts)) == 1,
        "queue_page_median_ms": round(page_s * 1000, 2),
        "bare_select_median_ms": round(bare_s * 1000, 2),
        "queue_vs_bare_ratio": round(page_s / bare_s, 1),
        "admin_dashboard_median_ms": round(chrome_s * 1000, 2),
        "approved": approved,
        "approve_seconds": round(approve_s, 2),
        "approvals_per_s": round(approved / approve_s, 1),
        "ledger_balanced": ledger_ok,
    }
    print(f"{'queue page (median)':<28}{result['queue_page_median_ms']:>10} ms  queries per render {query_counts}")
    ratio = result["queue_vs_bare_ratio"]
    print(f"{'bare SELECT of same page':<28}{result['bare_select_median_ms']:>10} ms  ratio {ratio}x")
    chrome = result["admin_dashboard_median_ms"]
    print(f"{'Wagtail dashboard':<28}{chrome:>10} ms  (what any admin page costs)")
    print(f"{'approve through service':<28}{result['approvals_per_s']:>10} proofs/s ({approved} in {approve_s:.2f} s)")
    print(f"{'ledger balanced':<28}{ledger_ok!s:>10}")
    print("BENCH_RESULT " + json.dumps({"bench": "moderation", **result}))


if __name__ == "__main__":
    main()
