"""Moderation benchmark (PostgreSQL): the queue page, the moderator's round trip and approvals/s, each beside its peer.

Full size (--scale 1.0): 1,000,000 proofs of which 100,000 pending, generated with generate_series.
Goals (issue #16): approve_proof at >= 75 % of the rate of the same writes in raw SQL, measured in the same run, with
<= 8 statements per approval; the round trip (approve via fetch -> next proof's section) <= 1.5x the Wagtail dashboard.
Prints a table and a final `BENCH_RESULT {...}` JSON line; exits 1 when a goal is missed.

    .venv/bin/python bench/moderation.py --scale 0.05
"""

import argparse
import json
import os
import re
import statistics
import sys
import time

from _common import Goal, finish, median_seconds, prepare_django

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_moderation"
APPS = 20
FULL_PROOFS, FULL_PENDING, APPROVALS = 1_000_000, 100_000, 1_000
APPROVALS_GOAL_SHARE = 0.75  # approve_proof keeps at least this share of the raw-SQL floor's rate
APPROVAL_STATEMENTS_GOAL = 8  # statements per approval, BEGIN/COMMIT not counted
APPROVE_PERM = "moderation.moderate_screenshotproof"
TRANSACTION_CONTROL = {"BEGIN", "COMMIT", "ROLLBACK"}
ROUND_TRIP_GOAL = 1.5  # approve → next proof shown, at most this many times the Wagtail dashboard
QUEUE = "/admin/moderation/"
CURRENT_PROOF = re.compile(r'id="current-proof" data-proof="(\d+)"')


def generate(proofs, pending):
    """Users × apps downloads, one proof each; the oldest `pending` proofs wait, the rest are rejected."""
    from django.db import connection

    from catalog.models import App, Category
    from commerce.models import Plan

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
    # A plan that multiplies points, as in production: every approval then asks for the member's running plan.
    Plan.objects.get_or_create(
        name="Bench Plus", defaults={"price": 100, "duration_days": 30, "points_multiplier": "1.5"}
    )
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
    page_s = median_seconds(lambda: client.get("/admin/moderation/"), repeat)
    chrome_s = median_seconds(lambda: client.get("/admin/"), repeat)

    def bare():
        with connection.cursor() as cur:
            cur.execute(BARE_PAGE, [QUEUE_PAGE_SIZE])
            cur.fetchall()

    bare_s = median_seconds(bare, repeat)
    return query_counts, page_s, bare_s, chrome_s


def measure_round_trip(repeat):
    """The moderator's round trip as the queue's script makes it: approve the proof shown with fetch() and get back the
    next proof's section, claimed and rendered alone (what the browser does on `a`). Beside it, alternately so a busy
    machine slows all alike: the Wagtail dashboard, and the plain form POST (the no-JS fallback, which redirects to a
    whole admin page) for the floor of a page-per-action design."""
    from django.test import Client

    client = Client()
    client.force_login(moderator())
    current = CURRENT_PROOF.search(client.get(QUEUE).content.decode()).group(1)
    trips, posts, dashboards = [], [], []
    for _ in range(repeat):
        start = time.perf_counter()
        client.get("/admin/")
        dashboards.append(time.perf_counter() - start)
        start = time.perf_counter()
        response = client.post(f"{QUEUE}{current}/approve/next/", HTTP_ACCEPT="application/json")
        trips.append(time.perf_counter() - start)
        answer = response.json()
        assert response.status_code == 200 and answer["ok"] and answer["changed"], answer
        assert CURRENT_PROOF.search(answer["html"]).group(1) == str(answer["current"]) != current
        current = str(answer["current"])
        # The fallback: the same approval as a form POST answering a redirect (not followed: the floor adds a page).
        start = time.perf_counter()
        response = client.post(f"{QUEUE}{current}/approve/", {"next": QUEUE})
        posts.append(time.perf_counter() - start)
        assert response.status_code == 302, response.status_code
        current = CURRENT_PROOF.search(client.get(QUEUE).content.decode()).group(1)
    return statistics.median(trips), statistics.median(posts), statistics.median(dashboards)


def _approve_in_raw_sql(cursor, proof_id, moderator_id, source_type_id):
    """The writes of one approval, each as the one raw statement it needs: the floor the service is held to."""
    cursor.execute(
        "SELECT d.user_id, u.email, a.name, a.points_reward FROM moderation_screenshotproof p"
        " JOIN moderation_download d ON d.id = p.download_id JOIN catalog_app a ON a.id = d.app_id"
        " JOIN backoffice_user u ON u.id = d.user_id WHERE p.id = %s AND p.status = 'pending' FOR UPDATE OF p",
        [proof_id],
    )
    user_id, email, app_name, points = cursor.fetchone()
    cursor.execute(
        "UPDATE backoffice_user SET points_balance = points_balance + %s WHERE id = %s RETURNING points_balance",
        [points, user_id],
    )
    cursor.execute(
        "INSERT INTO moderation_rewardentry (user_id, amount, kind, source_type_id, source_id, actor_id, reason,"
        " balance_after, created_at) VALUES (%s, %s, 'earn', %s, %s, %s, '', %s, now())",
        [user_id, points, source_type_id, proof_id, moderator_id, cursor.fetchone()[0]],
    )
    cursor.execute(
        "UPDATE moderation_screenshotproof SET status = 'approved', reason = '', reviewer_id = %s,"
        " reviewed_at = now(), claimed_by_id = NULL, claimed_until = NULL WHERE id = %s",
        [moderator_id, proof_id],
    )
    cursor.execute(
        "INSERT INTO moderation_historicalscreenshotproof (id, image, status, submitted_at, reviewed_at, reason,"
        " claimed_until, image_hash, download_id, reviewer_id, claimed_by_id, near_duplicate_of_id, history_date,"
        " history_type, history_user_id) SELECT id, image, status, submitted_at, reviewed_at, reason, claimed_until,"
        " image_hash, download_id, reviewer_id, claimed_by_id, near_duplicate_of_id, now(), '~', %s"
        " FROM moderation_screenshotproof WHERE id = %s",
        [moderator_id, proof_id],
    )
    subject = f"Your proof for {app_name} was approved"
    body = f"{points} points were added to your balance."
    cursor.execute(
        "INSERT INTO backoffice_notification (user_id, subject, body, created_at) VALUES (%s, %s, %s, now())",
        [user_id, subject, body],
    )
    message = {
        "subject": subject,
        "body": body,
        "from_email": "noreply@example.test",
        "to": [email],
        "cc": [],
        "bcc": [],
        "reply_to": [],
        "headers": {},
        "alternatives": [],
        "attachments": [],
    }
    cursor.execute(
        'INSERT INTO backoffice_delivery (channel, "to", subject, message, status, attempts, last_error,'
        " provider_id, created_at) VALUES ('email', %s, %s, %s, 'queued', 0, '', '', now())",
        [email, subject, json.dumps(message)],
    )


def measure_approvals(count, rounds=4):
    """approve_proof against the same writes in raw SQL and a bare single-row UPDATE, interleaved in `rounds` so a
    busy machine slows all three alike; plus the statements each approval runs."""
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from backoffice.testing import wire
    from moderation.models import ScreenshotProof
    from moderation.proofs import approve_proof

    mod = moderator()
    mod.has_perm(APPROVE_PERM)  # load the permission cache once, as a logged-in request would
    source_type_id = ContentType.objects.get_for_model(ScreenshotProof).pk
    pending = list(ScreenshotProof.objects.filter(status="pending").order_by("-submitted_at", "-pk")[: 2 * count + 20])
    sampled, pending = pending[:20], pending[20:]
    approve_proof(proof=sampled.pop(), moderator=mod)  # the session's first: it prepares the approval statement
    statements = []
    for proof in sampled[:-2]:
        with CaptureQueriesContext(connection) as queries:
            approve_proof(proof=proof, moderator=mod)
        statements.append(sum(1 for q in queries.captured_queries if q["sql"] not in TRANSACTION_CONTROL))
    with wire.traced() as service_wire:  # what psycopg really sent, its own BEGIN and COMMIT included
        approve_proof(proof=sampled[-2], moderator=mod)
    with wire.traced() as raw_wire, transaction.atomic(), connection.cursor() as cursor:
        _approve_in_raw_sql(cursor, sampled[-1].pk, mod.pk, source_type_id)
    service_proofs, raw_proofs = pending[:count], pending[count : 2 * count]
    update_ids = list(ScreenshotProof.objects.filter(status="rejected").values_list("pk", flat=True)[:count])
    service_s = raw_s = update_s = service_cpu_s = raw_cpu_s = 0.0
    size = -(-count // rounds)
    for start in range(0, count, size):
        began, cpu = time.perf_counter(), time.process_time()
        for proof in service_proofs[start : start + size]:
            approve_proof(proof=proof, moderator=mod)
        service_s += time.perf_counter() - began
        service_cpu_s += time.process_time() - cpu
        began, cpu = time.perf_counter(), time.process_time()
        for proof in raw_proofs[start : start + size]:
            with transaction.atomic(), connection.cursor() as cursor:
                _approve_in_raw_sql(cursor, proof.pk, mod.pk, source_type_id)
        raw_s += time.perf_counter() - began
        raw_cpu_s += time.process_time() - cpu
        began = time.perf_counter()
        with connection.cursor() as cursor:
            for pk in update_ids[start : start + size]:
                cursor.execute("UPDATE moderation_screenshotproof SET claimed_until = NULL WHERE id = %s", [pk])
        update_s += time.perf_counter() - began
    return {
        "approvals": len(service_proofs),
        "approvals_per_s": len(service_proofs) / service_s,
        "raw_sql_per_s": len(raw_proofs) / raw_s,
        "single_update_per_s": len(update_ids) / update_s,
        "statements": max(statements),
        "round_trips": service_wire.round_trips,
        "raw_sql_round_trips": raw_wire.round_trips,
        # This process's CPU per approval (Python, Django, psycopg, Celery's enqueue), apart from the waits on the
        # database: what the service spends beyond the raw writes is its overhead, whatever the database's speed.
        "service_cpu_ms": service_cpu_s / len(service_proofs) * 1000,
        "raw_sql_cpu_ms": raw_cpu_s / len(raw_proofs) * 1000,
        "raw_sql_ms": raw_s / len(raw_proofs) * 1000,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full size (default 1.0)")
    parser.add_argument("--repeat", type=int, default=20, help="timed page renders (median)")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    # The plan multiplier and the webhook subscribers are read from the cache on every approval: Redis, as deployed.
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"))
    args = parser.parse_args()
    proofs, pending = max(APPS, int(FULL_PROOFS * args.scale)), max(1, int(FULL_PENDING * args.scale))
    approvals = min(APPROVALS, (pending - 100) // 3)

    prepare_django(
        args.database_url,
        redis_url=args.redis_url,
        # Approving queues an email (a Delivery row, in the transaction); a worker sends it, not the request.
        CELERY_TASK_ALWAYS_EAGER="0",
        CELERY_BROKER_URL="memory://",
        EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
    )
    start = time.perf_counter()
    generate(proofs, pending)
    generate_s = time.perf_counter() - start
    print(f"generated {proofs:,} proofs ({pending:,} pending) in {generate_s:.1f} s")

    query_counts, page_s, bare_s, chrome_s = measure_queue(args.repeat)
    round_trip_s, approve_post_s, dashboard_s = measure_round_trip(args.repeat)
    approving = measure_approvals(approvals)

    from moderation.selectors import users_with_unbalanced_ledger

    ledger_ok = not users_with_unbalanced_ledger().exists()
    floor_share = approving["approvals_per_s"] / approving["raw_sql_per_s"]
    # The limit: were the service's statements as cheap as the raw ones, its extra client CPU alone would still cost
    # this share of the floor's rate.
    overhead_ms = max(0.0, approving["service_cpu_ms"] - approving["raw_sql_cpu_ms"])
    cpu_limit_share = approving["raw_sql_ms"] / (approving["raw_sql_ms"] + overhead_ms)
    approvals_ok = floor_share >= APPROVALS_GOAL_SHARE and approving["statements"] <= APPROVAL_STATEMENTS_GOAL
    trip_ratio = round_trip_s / dashboard_s
    # The fallback's approve, redirect, whole admin page: even a queue page as cheap as the dashboard leaves this much.
    design_floor = (approve_post_s + dashboard_s) / dashboard_s
    round_trip_ok = trip_ratio <= ROUND_TRIP_GOAL
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
        "round_trip_median_ms": round(round_trip_s * 1000, 2),
        "round_trip_dashboard_median_ms": round(dashboard_s * 1000, 2),
        "round_trip_vs_dashboard": round(trip_ratio, 2),
        "approve_post_median_ms": round(approve_post_s * 1000, 2),
        "post_redirect_get_floor_vs_dashboard": round(design_floor, 2),
        "round_trip_goal_met": round_trip_ok,
        "approved": approving["approvals"],
        "approvals_per_s": round(approving["approvals_per_s"], 1),
        "raw_sql_approvals_per_s": round(approving["raw_sql_per_s"], 1),
        "single_row_updates_per_s": round(approving["single_update_per_s"], 1),
        "approvals_vs_raw_sql": round(floor_share, 2),
        "statements_per_approval": approving["statements"],
        "round_trips_per_approval": approving["round_trips"],
        "raw_sql_round_trips_per_approval": approving["raw_sql_round_trips"],
        "service_cpu_ms_per_approval": round(approving["service_cpu_ms"], 2),
        "raw_sql_cpu_ms_per_approval": round(approving["raw_sql_cpu_ms"], 2),
        "raw_sql_ms_per_approval": round(approving["raw_sql_ms"], 2),
        "python_overhead_limit_vs_raw_sql": round(cpu_limit_share, 2),
        "approvals_goal_met": approvals_ok,
        "ledger_balanced": ledger_ok,
    }
    print(f"{'queue page (median)':<28}{result['queue_page_median_ms']:>10} ms  queries per render {query_counts}")
    ratio = result["queue_vs_bare_ratio"]
    print(f"{'bare SELECT of same page':<28}{result['bare_select_median_ms']:>10} ms  ratio {ratio}x")
    chrome = result["admin_dashboard_median_ms"]
    print(f"{'Wagtail dashboard':<28}{chrome:>10} ms  (what any admin page costs)")
    print(
        f"{'round trip approve → next':<28}{result['round_trip_median_ms']:>10} ms  (fetch, next proof's section)"
        f"  dashboard beside it"
        f" {result['round_trip_dashboard_median_ms']} ms: {trip_ratio:.2f}x  goal <= {ROUND_TRIP_GOAL}x"
        f"  {'ok' if round_trip_ok else 'MISSED'}"
    )
    print(
        f"{'form POST (no-JS fallback)':<28}{result['approve_post_median_ms']:>10} ms  so POST + redirect + a page as"
        f" cheap as the dashboard is {design_floor:.2f}x: the floor of a full page per action"
    )
    print(f"{'approve through service':<28}{result['approvals_per_s']:>10} /s   ({result['approved']} approvals)")
    print(f"{'same writes in raw SQL':<28}{result['raw_sql_approvals_per_s']:>10} /s   (the floor)")
    print(f"{'single-row UPDATE':<28}{result['single_row_updates_per_s']:>10} /s")
    print(
        f"{'service vs raw SQL':<28}{floor_share:>10.0%}       goal >= {APPROVALS_GOAL_SHARE:.0%}"
        f"  {'ok' if floor_share >= APPROVALS_GOAL_SHARE else 'MISSED'}"
    )
    print(
        f"{'client CPU per approval':<28}{approving['service_cpu_ms']:>10.2f} ms  raw SQL"
        f" {approving['raw_sql_cpu_ms']:.2f} ms CPU of {approving['raw_sql_ms']:.2f} ms: the service's extra"
        f" {overhead_ms:.2f} ms alone caps it at {cpu_limit_share:.0%} of the floor (the limit)"
    )
    print(
        f"{'statements per approval':<28}{approving['statements']:>10}       goal <= {APPROVAL_STATEMENTS_GOAL}"
        f" (BEGIN/COMMIT not counted); round trips {approving['round_trips']}, raw SQL"
        f" {approving['raw_sql_round_trips']} (BEGIN and COMMIT included)"
    )
    print(f"{'ledger balanced':<28}{ledger_ok!s:>10}")
    goals = [
        Goal("round trip approve → next vs dashboard", f"{trip_ratio:.2f}x", f"<= {ROUND_TRIP_GOAL}x", round_trip_ok),
        Goal(
            "approvals through the service vs raw SQL",
            f"{floor_share:.0%}",
            f">= {APPROVALS_GOAL_SHARE:.0%}",
            floor_share >= APPROVALS_GOAL_SHARE,
        ),
        Goal(
            "statements per approval",
            str(approving["statements"]),
            f"<= {APPROVAL_STATEMENTS_GOAL}",
            approving["statements"] <= APPROVAL_STATEMENTS_GOAL,
        ),
        Goal("ledger balanced", str(ledger_ok), "= True", ledger_ok),
    ]
    return finish("moderation", result, goals)


if __name__ == "__main__":
    sys.exit(main())
