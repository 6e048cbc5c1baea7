"""Benchmark: public pages over HTTP, gunicorn under production settings, loaded by wrk on loopback.

Every figure is beside two baselines measured in the same run, on the same server: a static file (whitenoise)
and a trivial view that runs through the same middleware as every page. Each page's rate is compared with the
trivial view's measured in short runs alternating with the page's (paired: a load spike from the shared machine's
other tenants weighs on both), the rounds' ratios printed beside it. Goals (issue 16):
  - every public page and API list >= 30 % of the trivial view's requests/s at 8 connections;
  - p99 < 50 ms at 8 connections;
  - 50 connections: no 5xx.

    .venv/bin/python bench/http_load.py [--scale 0.2] [--connections 8] [--workers 2] [--asgi] [--port 18601]
                                        [--only campaigns,leaderboard]

--asgi serves as the Procfile does (gunicorn with uvicorn workers); the default is gunicorn's sync workers (WSGI).
DB_POOL_MAX_SIZE=0 in the environment measures Django's persistent connections instead of the psycopg pool.
The run prints the machine's load average before and after: on a shared machine the trivial view's own p99 can
exceed the goal, which then no page can meet; the bench says so ("machine limit") beside the verdict.

(Named http_load.py, not http.py: bench/ is the scripts' import path, and a bench/http.py would shadow the
standard library's `http` package for every benchmark.)

Needs `wrk` (Debian package; `make bench` installs it when missing), PostgreSQL and Redis.
"""

import argparse
import io
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from _common import ROOT, Goal, finish, prepare_django

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/bench_http"
MEMBER_EMAIL = "http-bench@bench.test"
MEMBER_PASSWORD = "http-bench-password-4711"
RATE_GOAL = 0.30  # of the trivial view's requests/s
P99_GOAL_MS = 50.0
STRESS_CONNECTIONS = 50
ROUNDS = 3  # a page's rate is measured in this many short runs, each paired with one of the trivial view

# Counts 5xx answers across wrk's threads; wrk reports all non-2xx/3xx together otherwise.
COUNT_5XX = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) server_errors = 0 end
function response(status, headers, body) if status >= 500 then server_errors = server_errors + 1 end end
function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("server_errors") end
  io.write(string.format("SERVER_ERRORS %d\\n", total))
end
"""


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def production_environ(database_url, redis_url):
    """What an operator sets (README, Production), with HTTPS redirects off: wrk speaks plain HTTP on loopback."""
    return {
        **os.environ,
        "SECRET_KEY": secrets.token_urlsafe(60),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'bench'}",
    }


def prepare_data():
    """Demo data (apps, campaigns, members) and one member with a verified phone for the member API."""
    from django.core.management import call_command
    from django.utils import timezone

    from backoffice.models import User
    from catalog.models import App

    if not App.objects.exists():
        call_command("load_demo_data", stdout=io.StringIO())
    member = User.objects.filter(email=MEMBER_EMAIL).first()
    if member is None:
        member = User.objects.create_user(MEMBER_EMAIL, MEMBER_PASSWORD, phone_verified_at=timezone.now())
    return member


def collect_static(environ, static_root):
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env={**environ, "DJANGO_SETTINGS_MODULE": "_http_site", "BENCH_STATIC_ROOT": static_root},
        check=True,
    )
    manifest = json.loads((Path(static_root) / "staticfiles.json").read_text())
    return "/static/" + manifest["paths"]["css/site.css"]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def log_in(base):
    """A real session for the member API, through the login form (secure cookies are passed on as a header)."""
    opener = urllib.request.build_opener(NoRedirect)
    with opener.open(f"{base}/accounts/login/", timeout=30) as response:
        page = response.read().decode()
        csrf_cookie = re.search(r"csrftoken=([^;]+)", response.headers.get("Set-Cookie", "")).group(1)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    body = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": MEMBER_EMAIL, "password": MEMBER_PASSWORD})
    request = urllib.request.Request(
        f"{base}/accounts/login/", data=body.encode(), headers={"Cookie": f"csrftoken={csrf_cookie}"}
    )
    try:
        opener.open(request, timeout=30)
        raise SystemExit("log-in did not redirect: wrong password, or refused")
    except urllib.error.HTTPError as redirect:
        cookies = redirect.headers.get_all("Set-Cookie") or []
    session = next((re.match(r"sessionid=([^;]+)", c).group(1) for c in cookies if c.startswith("sessionid=")), None)
    if not session:
        raise SystemExit("log-in gave no session cookie")
    return f"sessionid={session}; csrftoken={csrf_cookie}"


def wait_until_up(url, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            time.sleep(0.3)
    raise SystemExit(f"gunicorn did not answer {url} within {seconds} s")


def parse_ms(text):
    value, unit = float(re.match(r"([\d.]+)", text).group(1)), re.search(r"(us|ms|s)$", text).group(1)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def wrk(url, *, connections, seconds, script, cookie=None):
    command = ["wrk", "-t", "2" if connections >= 2 else "1", "-c", str(connections), "-d", f"{seconds}s"]
    command += ["--latency", "--timeout", "10s", "-s", script]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    output = subprocess.run(command + [url], capture_output=True, text=True, timeout=seconds + 60).stdout
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", output, re.M))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50_ms": parse_ms(latency["50"]),
        "p99_ms": parse_ms(latency["99"]),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "server_errors": int(re.search(r"SERVER_ERRORS (\d+)", output).group(1)),
        "socket_errors": sum(int(n) for n in socket_errors.groups()) if socket_errors else 0,
    }


def paired(base, path, cookie, *, connections, seconds, script):
    """The page measured in ROUNDS short runs, each right after a run of the trivial view of the same length, so a
    load spike from the machine's other tenants weighs on both sides of the ratio: req/s are the rounds' means,
    p50 and p99 the rounds' medians, error counts their sums; paired_trivial_rps is the trivial view's mean."""
    each = max(2, round(seconds / ROUNDS))
    pages, trivials = [], []
    for _round in range(ROUNDS):
        trivials.append(wrk(base + "/bench/trivial/", connections=connections, seconds=each, script=script))
        pages.append(wrk(base + path, connections=connections, seconds=each, script=script, cookie=cookie))
    row = {
        "rps": statistics.mean(r["rps"] for r in pages),
        "p50_ms": statistics.median(r["p50_ms"] for r in pages),
        "p99_ms": statistics.median(r["p99_ms"] for r in pages),
        **{key: sum(r[key] for r in pages) for key in ("non_2xx", "server_errors", "socket_errors")},
        "paired_trivial_rps": statistics.mean(r["rps"] for r in trivials),
        "rounds_x_trivial": [round(p["rps"] / t["rps"], 3) for p, t in zip(pages, trivials, strict=True)],
    }
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full 10 s per page")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--asgi", action="store_true", help="uvicorn workers, as the Procfile's web")
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_HTTP_PORT", "0")), help="0: any free")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"))
    parser.add_argument("--only", default="", help="comma-separated parts of page names to run (baselines always run)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk; `make bench` does it)")
    seconds = max(3, round(10 * args.scale))

    prepare_django(args.database_url, redis_url=args.redis_url)
    prepare_data()
    from django.conf import settings

    environ = production_environ(args.database_url, args.redis_url)
    workdir = Path(tempfile.mkdtemp(prefix="bench-http-"))
    script = workdir / "count5xx.lua"
    script.write_text(COUNT_5XX)
    static_path = collect_static(environ, str(workdir / "static"))
    port = args.port or free_port()
    base = f"http://127.0.0.1:{port}"
    application = ["backoffice.asgi:application", "-k", "uvicorn.workers.UvicornWorker"] if args.asgi else []
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), *(application or ["backoffice.wsgi:application"])]
        + ["--bind", f"127.0.0.1:{port}", "--workers", str(args.workers), "--log-level", "warning"],
        cwd=ROOT,
        env={**environ, "DJANGO_SETTINGS_MODULE": "_http_site", "BENCH_STATIC_ROOT": str(workdir / "static")},
    )
    try:
        wait_until_up(f"{base}/bench/trivial/")
        cookie = log_in(base)
        targets = [
            ("static file (baseline)", static_path, None, False),
            ("trivial view (baseline)", "/bench/trivial/", None, False),
            ("signed-in trivial view (baseline)", "/bench/signed-in/", cookie, False),
            ("signed-in API floor (baseline)", "/bench/api-floor/", cookie, False),
            ("home /", "/", None, True),
            ("apps /apps/", "/apps/", None, True),
            ("leaderboard /leaderboard/", "/leaderboard/", None, True),
            ("API /api/apps/", "/api/apps/", None, True),
            ("API /api/campaigns/available/", "/api/campaigns/available/?cart_total=40", cookie, True),
        ]
        if args.only:
            wanted = [part.strip() for part in args.only.split(",") if part.strip()]
            targets = [t for t in targets if not t[3] or any(part in t[0] for part in wanted)]
        kind = "uvicorn (ASGI, as the Procfile)" if args.asgi else "sync (WSGI)"
        print(f"HTTP benchmark: gunicorn {args.workers} {kind} workers, production settings, PostgreSQL + Redis, wrk")
        database = settings.DATABASES["default"]
        pool = database["OPTIONS"].get("pool")
        print(
            f"database connections: psycopg pool per worker, max_size={pool['max_size']}"
            if pool
            else f"database connections: CONN_MAX_AGE={database['CONN_MAX_AGE']} (no pool)"
        )
        load_before = os.getloadavg()[0]
        print(f"machine: {os.cpu_count()} cores, load average {load_before:.1f} before the run (shared: figures noisy)")
        print(f"goal: every page >= {RATE_GOAL:.0%} of the trivial view's req/s and p99 < {P99_GOAL_MS:.0f} ms at")
        print(f"      {args.connections} connections; no 5xx at {STRESS_CONNECTIONS} connections ({seconds} s per run)")
        print(f"{'page':34} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'x trivial':>10} {'5xx@50':>7}  verdict")
        rows, missed = [], []
        for name, path, page_cookie, is_goal in targets:
            wrk(base + path, connections=args.connections, seconds=1, script=script, cookie=page_cookie)  # warm-up
            if is_goal:
                row = paired(base, path, page_cookie, connections=args.connections, seconds=seconds, script=script)
            else:
                row = wrk(base + path, connections=args.connections, seconds=seconds, script=script, cookie=page_cookie)
            stress = wrk(
                base + path, connections=STRESS_CONNECTIONS, seconds=seconds, script=script, cookie=page_cookie
            )
            row.update(name=name, stress_5xx=stress["server_errors"], stress_socket_errors=stress["socket_errors"])
            rows.append(row)
        trivial = rows[1]["rps"]
        # The machine's floor: a page costs at least what the trivial view costs, so when the trivial view's own p99
        # is over the goal, no page can meet it here (the load of other processes, not the page, sets it).
        floor_p99 = rows[1]["p99_ms"]
        machine_limited = floor_p99 >= P99_GOAL_MS
        # A signed-in page also loads its session and user rows: what the signed-in trivial view costs is its floor;
        # a member API request also runs DRF and its throttle: the API floor.
        signed_in_floor = rows[2]["rps"] / trivial
        api_floor = rows[3]["rps"] / trivial
        goals = []
        for row, (_name, _path, page_cookie, is_goal) in zip(rows, targets, strict=True):
            row["x_trivial"] = row["rps"] / row.get("paired_trivial_rps", trivial)
            limit = f" (machine limit: trivial view p99 {floor_p99:.0f} ms)" if machine_limited else ""
            floor = (
                f" (signed-in floor: {signed_in_floor:.0%}, API floor: {api_floor:.0%})"
                if page_cookie and is_goal
                else ""
            )
            checks = [
                Goal(
                    f"{row['name']}: answers at {args.connections} connections",
                    f"{row['non_2xx']} non-2xx",
                    "= 0",
                    not row["non_2xx"],
                ),
                Goal(
                    f"{row['name']}: 5xx at {STRESS_CONNECTIONS} connections",
                    str(row["stress_5xx"]),
                    "= 0",
                    not row["stress_5xx"],
                ),
            ]
            if is_goal:
                checks += [
                    Goal(
                        f"{row['name']}: rate vs trivial view",
                        f"{row['x_trivial']:.0%}{floor}",
                        f">= {RATE_GOAL:.0%}",
                        row["x_trivial"] >= RATE_GOAL,
                    ),
                    Goal(
                        f"{row['name']}: p99 at {args.connections} connections",
                        f"{row['p99_ms']:.1f} ms{limit}",
                        f"< {P99_GOAL_MS:.0f} ms",
                        row["p99_ms"] < P99_GOAL_MS,
                    ),
                ]
            goals += checks
            problems = [f"{goal.goal.split(': ', 1)[1]} {goal.figure}" for goal in checks if not goal.met]
            verdict = "MISSED: " + ", ".join(problems) if problems else ("ok" if is_goal else "baseline")
            if problems:
                missed.append(row["name"])
            print(
                f"{row['name']:34} {row['rps']:8.0f} {row['p50_ms']:8.1f} {row['p99_ms']:8.1f} "
                f"{row['x_trivial']:10.2f} {row['stress_5xx']:7d}  {verdict}"
            )
            if "rounds_x_trivial" in row:
                rounds = ", ".join(f"{ratio:.2f}" for ratio in row["rounds_x_trivial"])
                print(
                    f"{'':34} paired trivial view {row['paired_trivial_rps']:.0f} req/s; x trivial by round: {rounds}"
                )
        load_after = os.getloadavg()[0]
        print(f"machine: load average {load_after:.1f} after the run")
        if machine_limited:
            print(
                f"machine limit: the trivial view itself has p99 {floor_p99:.0f} ms >= {P99_GOAL_MS:.0f} ms at "
                f"{args.connections} connections on {os.cpu_count()} shared cores "
                f"(load {load_before:.1f}-{load_after:.1f})"
            )
        print(
            f"signed-in floor: a request that reads request.user runs at {signed_in_floor:.0%} of the trivial view "
            "(its session read through the cache, its user row from PostgreSQL)"
        )
        print(
            f"API floor: a member API view answering a constant (DRF, authentication, throttle) runs at "
            f"{api_floor:.0%} of the trivial view: what a member API endpoint costs before its own work"
        )
        print(f"goals missed: {len(missed)} of {sum(t[3] for t in targets)} pages" if missed else "all goals met")
        result = {"scale": args.scale, "asgi": args.asgi, "pool": bool(pool), "pages": rows, "missed": missed}
        result.update(signed_in_floor=signed_in_floor, api_floor=api_floor)
        result.update(machine_limited=machine_limited, load_before=load_before, load_after=load_after)
        return finish("http_load", result, goals)
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
