"""Benchmark: concurrent campaign redemption on PostgreSQL, clients as processes (like gunicorn workers).

For 1, 8, 32 and 64 client processes, each run redeems a fresh campaign with 1,000 uses (`--scale`) by 25 % more
members than uses, so the campaign runs out under contention, through:

- `growth.campaigns.redeem_campaign` (the service: member row locked, then, last, one of the campaign's counter
  shards claimed with FOR UPDATE SKIP LOCKED and moved by one conditional UPDATE, so concurrent redemptions lock
  different rows, each only from that UPDATE to the COMMIT, which travels with it);
- the select_for_update() implementation written below (same rules and writes, but the campaign row is locked
  first, for the whole transaction: the textbook way);
- a bare single-row `UPDATE counter SET n = n + 1` in autocommit by as many processes (the ceiling for anything
  that serializes on one row).

Everything runs twice: against the local database, and through a loopback proxy adding ~1 ms per round trip
(client to server), where how long the hot row stays locked decides throughput. Prints the curves side by side,
the oversell (must be 0 for both implementations), the goals, and exits non-zero when one is missed.

Goals (issue #16), at 32 clients: the service >= 2x the select_for_update() implementation and >= 25 % of the
single-row UPDATE rate; its curve rising, not collapsing, from 1 to 8 to 32 to 64 clients (each step at least
`NOT_COLLAPSING` of the previous, and 8 clients above 1); oversell 0.

    .venv/bin/python bench/redeem.py [--scale 0.1] [--clients 1,8,32,64] [--proxy-port 18100]
"""

import argparse
import asyncio
import collections
import functools
import os
import socket
import sys
import time
from pathlib import Path

from _common import Goal, finish, fork_context, prepare_django, run_processes

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/bench_growth"
CLIENTS = (1, 8, 32, 64)
GOAL_CLIENTS = 32
GOAL_VS_LOCKING = 2.0  # the service's rate at least this many times the select_for_update() implementation's
GOAL_VS_UPDATE = 0.25  # and at least this fraction of the bare single-row UPDATE rate
NOT_COLLAPSING = 0.9  # each step of the curve keeps at least this fraction of the previous step's rate
PROXY_DELAY_S = 0.001


# --- the loopback proxy ---------------------------------------------------------------------------------------


def run_proxy(listen_port, target_port, delay, ready):
    """Forward TCP to the database, delaying every client-to-server chunk by `delay` (order kept).

    Written with asyncio protocols and timers, not streams: a real link costs the two hosts no CPU, and this proxy
    shares the cores with the processes it serves, so its own cost per chunk is kept small (it is printed beside the
    figures: `proxy_cpu_ms`)."""
    loop = asyncio.new_event_loop()

    def no_delay(transport):
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    class ToClient(asyncio.Protocol):
        """The database's side: what it answers goes back at once."""

        def __init__(self, client):
            self.client = client

        def connection_made(self, transport):
            no_delay(transport)

        def data_received(self, data):
            self.client.write(data)

        def connection_lost(self, exc):
            self.client.close()

    class FromClient(asyncio.Protocol):
        """The client's side: each chunk is held `delay`, then sent in order."""

        def connection_made(self, transport):
            no_delay(transport)
            self.transport, self.server, self.held = transport, None, collections.deque()
            loop.create_task(self.connect())

        async def connect(self):
            try:
                server, _ = await loop.create_connection(lambda: ToClient(self.transport), "127.0.0.1", target_port)
            except OSError:
                self.transport.close()
                return
            self.server = server
            self.release()

        def data_received(self, data):
            self.held.append((loop.time() + delay, data))
            if len(self.held) == 1:
                loop.call_at(self.held[0][0], self.release)

        def release(self):
            if self.server is None:
                return  # connect() releases what is due once the database answers
            now = loop.time()
            while self.held and self.held[0][0] <= now:
                self.server.write(self.held.popleft()[1])
            if self.held:
                loop.call_at(self.held[0][0], self.release)

        def connection_lost(self, exc):
            if self.server is not None:
                self.server.close()

    server = loop.run_until_complete(
        loop.create_server(FromClient, "127.0.0.1", listen_port, backlog=256, reuse_address=True)
    )
    ready.set()
    try:
        loop.run_forever()
    finally:
        server.close()


def start_proxy(listen_port, target_port):
    context = fork_context()
    ready = context.Event()
    process = context.Process(target=run_proxy, args=(listen_port, target_port, PROXY_DELAY_S, ready), daemon=True)
    process.start()
    if not ready.wait(10):
        raise RuntimeError(f"the loopback proxy did not start on port {listen_port}")
    return process


# --- the two implementations -----------------------------------------------------------------------------------


def redeem_with_select_for_update(*, user, campaign, idempotency_key, expected_points_cost, cart_total, cart_reference):
    """The same rules and writes as the service, written the textbook way: the campaign row is locked FIRST
    (select_for_update) and held for the whole transaction, so every redemption of it queues behind the slowest."""
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from growth import campaign_counters, selectors
    from growth import campaigns as service
    from growth.models import Campaign, Redemption

    cart = service.cart_for(cart_total=cart_total, cart_reference=cart_reference)
    with transaction.atomic():
        locked_user = get_user_model().objects.select_for_update().get(pk=user.pk)
        current = (
            Campaign.objects.select_for_update(of=("self",))
            .with_counters()
            .annotate(terms_version=campaign_counters.terms_version_of())
            .get(pk=campaign.pk)
        )
        previous = Redemption.objects.filter(user=locked_user, idempotency_key=idempotency_key).first()
        if previous is not None:
            return previous
        if expected_points_cost != current.points_cost:
            raise service.RedemptionRefused("points_cost_changed", "The cost changed.")
        refused = service.refusal(
            current,
            now=timezone.now(),
            user=locked_user,
            cart=cart,
            used_by_user=service.live_redemptions(campaign=current, user=locked_user).count(),
            allows_app=selectors.campaign_allows_app(current, None),
        )
        if refused is not None:
            raise refused
        on_cart = list(service.live_redemptions(user=locked_user, cart_reference=cart.reference))
        discount = service._discount_within_cart(current, on_cart, cart)
        redemption = service.record_redemption(
            campaign=current, user=locked_user, idempotency_key=idempotency_key, cart=cart, discount=discount
        )
        # The counters move through the service's shards, but the campaign row stays locked until COMMIT.
        if (
            campaign_counters.claim_use(campaign_id=current.pk, discount=discount, terms_version=current.terms_version)
            is None
        ):
            raise service.RedemptionRefused("campaign_exhausted", "No uses left.")
    return redemption


def redeem_with_service(**kwargs):
    from growth.campaigns import redeem_campaign

    return redeem_campaign(**kwargs)


IMPLEMENTATIONS = {"service": redeem_with_service, "select_for_update": redeem_with_select_for_update}


# --- processes -------------------------------------------------------------------------------------------------


def point_at(port):
    """In a forked child: drop the parent's connection, connect through `port` (the proxy) or directly."""
    from django.db import connection

    connection.close()
    if port:
        connection.settings_dict["HOST"], connection.settings_dict["PORT"] = "127.0.0.1", str(port)


def redeemer(implementation, campaign_id, user_ids, port, next_index, release, results):
    from django.contrib.auth import get_user_model
    from django.db import connection

    from growth.campaigns import RedemptionRefused
    from growth.models import Campaign

    point_at(port)
    redeem = IMPLEMENTATIONS[implementation]
    campaign, User = Campaign(pk=campaign_id), get_user_model()
    counts = {"ok": 0, "refused": 0, "error": 0, "first_error": ""}
    connection.ensure_connection()
    release.wait()
    while (index := claim(next_index)) < len(user_ids):
        try:
            redeem(
                user=User(pk=user_ids[index]),
                campaign=campaign,
                cart_total="40.00",
                cart_reference="bench",
                expected_points_cost=0,
                idempotency_key="bench",
            )
            counts["ok"] += 1
        except RedemptionRefused:
            counts["refused"] += 1
        except Exception as error:  # counted and reported: any error is a finding
            counts["error"] += 1
            counts["first_error"] = counts["first_error"] or repr(error)[:200]
    counts["finished"] = time.perf_counter()
    connection.close()
    results.put(counts)


def claim(next_index):
    with next_index.get_lock():
        index = next_index.value
        next_index.value += 1
    return index


def updater(url, total, next_index, release, results):
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        release.wait()
        while claim(next_index) < total:
            conn.execute("UPDATE bench_counter SET n = n + 1 WHERE id = 1")
    results.put({"finished": time.perf_counter()})


def in_processes(count, target, args):
    """`count` processes of `target`, sharing one counter of the work they claim (`claim`)."""
    next_index = fork_context().Value("i", 0)
    return run_processes([(target, (*args, next_index))] * count)


# --- one run ---------------------------------------------------------------------------------------------------


def create_members(cursor, count, prefix):
    """INSERT ... SELECT generate_series: verified members, no ORM row by row."""
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


def bench_redeem(implementation, uses, clients, port):
    from django.db import connection

    from growth.models import Campaign, Redemption

    prefix = f"r{time.time_ns()}x"
    with connection.cursor() as cursor:
        user_ids = create_members(cursor, int(uses * 1.25), prefix)
    campaign = bench_campaign(prefix, uses)
    connection.close()
    elapsed, counts = in_processes(clients, redeemer, (implementation, campaign.pk, user_ids, port))
    campaign = Campaign.objects.with_counters().get(pk=campaign.pk)
    redeemed = Redemption.objects.filter(campaign=campaign).count()
    errors = sum(c["error"] for c in counts)
    return {
        "attempts": len(user_ids),
        "seconds": elapsed,
        "redeemed": redeemed,
        "refused": sum(c["refused"] for c in counts),
        "errors": errors,
        "first_error": next((c["first_error"] for c in counts if c["first_error"]), ""),
        "oversell": max(0, redeemed - uses) + max(0, campaign.uses_count - uses),
        "counter_matches_rows": campaign.uses_count == redeemed,
        "rate": len(user_ids) / elapsed,
    }


def bench_single_row_update(url, clients, total):
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_counter (id int PRIMARY KEY, n bigint NOT NULL)")
        conn.execute("INSERT INTO bench_counter VALUES (1, 0) ON CONFLICT (id) DO UPDATE SET n = 0")
    elapsed, _ = in_processes(clients, updater, (url, total))
    return {"seconds": elapsed, "rate": total / elapsed}


def one_request_cost(samples=20):
    """Statements, client CPU and end-to-end time of one redemption through the service, alone (no contention)."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection

    from backoffice.testing import wire
    from growth.campaigns import redeem_campaign
    from growth.models import Campaign

    prefix = f"c{time.time_ns()}x"
    with connection.cursor() as cursor:
        user_ids = create_members(cursor, samples + 2, prefix)
    campaign = Campaign.objects.get(pk=bench_campaign(prefix, samples + 2).pk)
    User = get_user_model()

    def once(user_id):
        redeem_campaign(
            user=User(pk=user_id),
            campaign=campaign,
            cart_total="40.00",
            cart_reference="bench",
            expected_points_cost=0,
            idempotency_key="bench",
        )

    once(user_ids[0])  # the session's first: it prepares the statements, the process caches the webhook map
    with wire.traced() as sent:  # every message psycopg sent, its own BEGIN and COMMIT included
        once(user_ids[1])
    cpu, wall = time.process_time(), time.perf_counter()
    for user_id in user_ids[2:]:
        once(user_id)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    connection.close()
    return {
        "round_trips": sent.round_trips,
        "client_cpu_ms": 1000 * cpu / samples,
        "busy_ms": 1000 * wall / samples,
        "shards": settings.CAMPAIGN_COUNTER_SHARDS,
    }


def bench_campaign(prefix, uses):
    from datetime import timedelta
    from decimal import Decimal

    from django.utils import timezone

    from growth.campaigns import create_campaign
    from growth.models import Campaign

    now = timezone.now()
    campaign = Campaign(
        name=f"bench {prefix}",
        discount_kind="percent",
        discount_value=Decimal("10"),
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=1),
        max_uses=uses,
        per_user_limit=1,
    )
    return create_campaign(campaign=campaign, actor=None)


def libpq_url(database_url, port=None):
    url = database_url.replace("postgres://", "postgresql://", 1)
    if port:
        server, name = url.rsplit("/", 1)
        url = f"{server.rsplit(':', 1)[0]}:{port}/{name}" if server.count(":") > 1 else f"{server}:{port}/{name}"
    return url


def cpu_seconds(pid):
    """User + system CPU a process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def curve(database_url, uses, client_counts, port, proxy=None):
    """One curve; through `proxy` (its process) each run also records the proxy's CPU per operation."""
    rows = []
    for clients in client_counts:
        row = {"clients": clients}
        runs = {name: functools.partial(bench_redeem, name, uses, clients, port) for name in IMPLEMENTATIONS}
        runs["update"] = functools.partial(
            bench_single_row_update, libpq_url(database_url, port), clients, int(uses * 1.25)
        )
        for name, run in runs.items():
            before = cpu_seconds(proxy.pid) if proxy else 0.0
            row[name] = run()
            if proxy:
                row[name]["proxy_cpu_ms"] = 1000 * (cpu_seconds(proxy.pid) - before) / int(uses * 1.25)
        rows.append(row)
        proxy_cpu = (
            f"   proxy CPU per op {row['service']['proxy_cpu_ms']:.2f}/{row['update']['proxy_cpu_ms']:.2f} ms"
            if proxy
            else ""
        )
        print(
            f"  {clients:>3} clients   service {row['service']['rate']:7.0f}/s   "
            f"select_for_update {row['select_for_update']['rate']:7.0f}/s   "
            f"single-row UPDATE {row['update']['rate']:7.0f}/s   "
            f"oversell {row['service']['oversell']}/{row['select_for_update']['oversell']}   "
            f"errors {row['service']['errors']}/{row['select_for_update']['errors']}{proxy_cpu}",
            flush=True,
        )
    return rows


def _curve(rates):
    return " -> ".join(f"{rate:.0f}" for rate in rates)


def _rising(rates):
    """Rising, not collapsing: more clients than one do more, and no step keeps less than NOT_COLLAPSING."""
    steps = [later / earlier for earlier, later in zip(rates, rates[1:], strict=False)]
    return len(rates) < 2 or (rates[1] > rates[0] and all(step >= NOT_COLLAPSING for step in steps))


def judge(rows, label):
    """The goals for one curve."""
    by_clients = {row["clients"]: row for row in rows}
    service = [row["service"]["rate"] for row in rows]
    goals = []
    if GOAL_CLIENTS in by_clients:
        at = by_clients[GOAL_CLIENTS]
        vs_locking = at["service"]["rate"] / at["select_for_update"]["rate"]
        vs_update = at["service"]["rate"] / at["update"]["rate"]
        goals.append(
            Goal(
                f"{label}: service vs select_for_update at {GOAL_CLIENTS} clients",
                f"{vs_locking:.2f}x",
                f">= {GOAL_VS_LOCKING:g}x",
                vs_locking >= GOAL_VS_LOCKING,
            )
        )
        goals.append(
            Goal(
                f"{label}: service vs single-row UPDATE at {GOAL_CLIENTS} clients",
                f"{vs_update:.1%}",
                f">= {GOAL_VS_UPDATE:.0%}",
                vs_update >= GOAL_VS_UPDATE,
            )
        )
    rising = _rising(service)
    # The machine's own curve: the bare UPDATE by as many processes. When it falls too, more processes than cores
    # cost every design here (scheduling, lock holders descheduled), and the bench says so beside the figure.
    update = [row["update"]["rate"] for row in rows]
    limit = ""
    if not rising and not _rising(update):
        # Step for step, how much of what the UPDATE keeps the service keeps (1.0: it falls no more than the UPDATE).
        kept = [
            (later / earlier) / (u_later / u_earlier)
            for earlier, later, u_earlier, u_later in zip(service, service[1:], update, update[1:], strict=False)
        ]
        limit = (
            f" (machine limit: the single-row UPDATE falls too, {_curve(update)}; step for step the service keeps "
            f"{', '.join(f'{k:.2f}x' for k in kept)} what the UPDATE keeps)"
        )
    goals.append(
        Goal(
            f"{label}: service curve (per s, by clients)",
            _curve(service) + limit,
            f"rising, each step >= {NOT_COLLAPSING:.0%}",
            rising,
        )
    )
    oversell = sum(row[i]["oversell"] for row in rows for i in IMPLEMENTATIONS)
    errors = sum(row[i]["errors"] for row in rows for i in IMPLEMENTATIONS)
    matches = all(row[i]["counter_matches_rows"] for row in rows for i in IMPLEMENTATIONS)
    goals.append(
        Goal(
            f"{label}: oversold uses and errors (counters = rows: {matches})",
            f"oversell {oversell}, errors {errors}",
            "0 and 0, counters = rows",
            oversell == 0 and errors == 0 and matches,
        )
    )
    return goals


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full size (1,000 uses per run)")
    parser.add_argument("--clients", default=",".join(map(str, CLIENTS)), help="client counts of the curve")
    parser.add_argument("--proxy-port", type=int, default=int(os.environ.get("BENCH_PROXY_PORT", "18100")))
    parser.add_argument("--no-proxy", action="store_true", help="skip the run through the ~1 ms proxy")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    args = parser.parse_args()
    uses = max(int(1000 * args.scale), 20)
    client_counts = [int(c) for c in args.clients.split(",")]

    # No connection pool: its connections and thread would be shared by the forked client processes.
    prepare_django(args.database_url, LOG_LEVEL="ERROR", AVAILABLE_CAMPAIGNS_CACHE_SECONDS="0", DB_POOL_MAX_SIZE="0")
    from django.conf import settings
    from django.db import connection
    from wagtail import hooks

    settings.CONN_MAX_AGE = None
    hooks.get_hooks("backoffice_event")  # load every app's hooks once, before forking, not inside the timing
    connection.close()
    db_port = int(connection.settings_dict.get("PORT") or 5432)

    print(
        f"campaign max uses {uses}, {int(uses * 1.25)} members try each run; clients are processes; "
        f"{os.cpu_count()} cores (machine shared: figures are noisy)"
    )
    print("local database:", flush=True)
    results = {"local": curve(args.database_url, uses, client_counts, None)}
    if not args.no_proxy:
        proxy = start_proxy(args.proxy_port, db_port)
        try:
            print(f"through a loopback proxy adding {PROXY_DELAY_S * 1000:g} ms per round trip:", flush=True)
            results["proxy"] = curve(args.database_url, uses, client_counts, args.proxy_port, proxy)
        finally:
            proxy.terminate()
            proxy.join()

    goals = [goal for label, rows in results.items() for goal in judge(rows, label)]
    local = results["local"]
    one_client_update = local[0]["update"]["rate"] if local and local[0]["clients"] == 1 else None
    print(
        f"limits on this machine ({os.cpu_count()} cores shared by every client process, PostgreSQL and other "
        f"sessions): the service peaks at {max(r['service']['rate'] for r in local):.0f}/s locally."
    )
    if one_client_update:
        print(
            f"  one client's autocommit UPDATE takes {1000 / one_client_update:.1f} ms (mostly the WAL flush); "
            f"a row locked until its commit is flushed caps every design that moves ONE campaign row per use at about "
            f"{one_client_update:.0f}/s times what group commit batches."
        )
    cost = one_request_cost()
    ceiling = (os.cpu_count() or 1) * 1000 / cost["busy_ms"]
    print(
        f"  the service no longer moves one campaign row: it claims one of {cost['shards']} counter shards with FOR "
        f"UPDATE SKIP LOCKED, so the hot-row cap above does not bind it; the CPU per request does: one redemption "
        f"is {cost['round_trips']} round trips, {cost['client_cpu_ms']:.1f} ms of client CPU (Django, psycopg, hooks) "
        f"and {cost['busy_ms']:.1f} ms alone end to end, so {os.cpu_count()} cores shared by clients and "
        f"PostgreSQL give at most about {ceiling:.0f}/s in this run."
    )
    print(
        "  where a redemption's time goes: three prepared statements in two round trips, BEGIN and COMMIT included "
        "(BEGIN, the member locked and the read sent together; the CTE claiming a shard and writing the redemption "
        "and its history row, with its COMMIT), then each commit's WAL flush and the processes' share of the cores "
        "(the goal's UPDATE rate is measured with PostgreSQL sharing these cores with every client process). Through "
        "the ~1 ms link a redemption waits two round trips against the UPDATE's one: only a redemption in one round "
        "trip (a server-side function holding the rules) would cut that."
    )
    for rows in results.values():
        for row in rows:
            for implementation in IMPLEMENTATIONS:
                if row[implementation]["first_error"]:
                    print(
                        f"first error ({implementation}, {row['clients']} clients): "
                        f"{row[implementation]['first_error']}"
                    )
    summary = {
        "scale": args.scale,
        "max_uses": uses,
    }
    for label, rows in results.items():
        for row in rows:
            for name in ("service", "select_for_update", "update"):
                summary[f"{label}_{name}_{row['clients']}_per_s"] = round(row[name]["rate"], 1)
                if "proxy_cpu_ms" in row[name]:
                    summary[f"{label}_{name}_{row['clients']}_proxy_cpu_ms"] = round(row[name]["proxy_cpu_ms"], 3)
        summary[f"{label}_oversell"] = sum(row[i]["oversell"] for row in rows for i in IMPLEMENTATIONS)
    return finish("redeem", summary, goals)


if __name__ == "__main__":
    sys.exit(main())
