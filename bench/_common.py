"""What every benchmark needs: its own PostgreSQL database, Django pointed at it and migrated; client processes
released together (run_processes); and one way to report its goals (Goal, finish) that run_all.py reads."""

import contextlib
import json
import multiprocessing
import os
import queue
import statistics
import sys
import time
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent


def prepare_django(database_url, *, redis_url=None, settings="backoffice.settings.local", **environ):
    """Create the benchmark's database if missing, point Django at it (and at Redis), migrate.

    Extra keyword arguments are set as environment variables before Django reads its settings.
    """
    import psycopg

    server, name = database_url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres".replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')

    os.environ["DATABASE_URL"] = database_url
    if redis_url:
        os.environ["REDIS_URL"] = redis_url
    os.environ.update({key: str(value) for key, value in environ.items()})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def median_seconds(func, samples):
    """The median wall time of `samples` calls of `func`: what every benchmark reports of a timed step."""
    timings = []
    for _ in range(samples):
        started = time.perf_counter()
        func()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


# --- client processes: forked, released together, crashes reported -------------------------------------------------


class Release(NamedTuple):
    """Given to every worker: `wait()` once it is set up (connected), and it returns when all are, together."""

    ready: object  # a semaphore each worker releases once
    go: object  # an event the parent sets when every worker is ready

    def wait(self):
        self.ready.release()
        self.go.wait()


def fork_context():
    """The multiprocessing context run_processes forks with: shared values a bench gives its workers come from it."""
    return multiprocessing.get_context("fork")


def _run_worker(function, args, release, results):
    try:
        function(*args, release, results)
    except BaseException as exc:
        results.put({"crashed": f"{function.__name__}: {type(exc).__name__}: {exc}"})
        raise


def run_processes(targets):
    """Run each (function, args) of `targets` in a forked process as `function(*args, release, results)`.

    Every worker calls `release.wait()` once set up, then works and puts one dict on `results` with `finished` (its
    `time.perf_counter()`, the same monotonic clock in every process). Returns the seconds from the release to the
    last finish, and the dicts. A worker that raises, or dies without reporting, stops the run with its error
    (the others are terminated) instead of leaving the parent waiting forever.
    """
    context = fork_context()
    results = context.Queue()
    release = Release(context.Semaphore(0), context.Event())
    processes = [
        context.Process(target=_run_worker, args=(function, args, release, results)) for function, args in targets
    ]
    for process in processes:
        process.start()
    collected = []

    def stop_on_crash():
        with contextlib.suppress(queue.Empty):
            while True:
                collected.append(results.get_nowait())
        crashed = [c["crashed"] for c in collected if "crashed" in c]
        died = [p.exitcode for p in processes if p.exitcode not in (None, 0)]
        if crashed or (died and len(collected) < len(processes)):
            for process in processes:
                process.terminate()
            first = crashed[0] if crashed else f"a worker died with exit code {died[0]}"
            raise SystemExit(f"{len(crashed) or len(died)} of {len(processes)} processes crashed; the first: {first}")

    for _ in processes:
        while not release.ready.acquire(timeout=1):
            stop_on_crash()
    started = time.perf_counter()
    release.go.set()
    while len(collected) < len(processes):
        with contextlib.suppress(queue.Empty):
            collected.append(results.get(timeout=1))
        stop_on_crash()
    for process in processes:
        process.join()
    return max(c["finished"] for c in collected) - started, collected


# --- goals: one format for every benchmark, read by run_all.py -----------------------------------------------------
#
# A bench judges each of its goals as a Goal, prints one line per goal ("goal [met] ..." or "goal [MISSED] ..."),
# and ends with `BENCH_RESULT {json}` whose "goals" list holds them as objects {goal, figure, limit, met};
# run_all.py builds RESULTS.md's summary table from that list. The exit status is 1 when any goal is missed.


class Goal(NamedTuple):
    goal: str  # what is measured, e.g. "API /api/apps/ p99 at 8 connections"
    figure: str  # this run's figure, with its unit, e.g. "41 ms"
    limit: str  # the goal's bound, e.g. "< 50 ms"
    met: bool


def finish(bench, result, goals):
    """Print each goal's line and the BENCH_RESULT line; return the exit status (1 when a goal is missed)."""
    for goal in goals:
        print(f"goal [{'met' if goal.met else 'MISSED'}] {goal.goal}: {goal.figure} (goal {goal.limit})")
    met = all(goal.met for goal in goals)
    payload = {"bench": bench, **result, "goals": [goal._asdict() for goal in goals], "goals_met": met}
    print("BENCH_RESULT " + json.dumps(payload), flush=True)
    return 0 if met else 1
