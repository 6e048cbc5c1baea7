"""`make run` (Procfile.dev) on a fresh checkout: web, worker and beat share no server, yet schedules run.

The broker is kombu's filesystem transport (what `make run` uses when no Redis answers) and the database
SQLite, as on a fresh clone. Runs in the SQLite pass only: it needs no server at all.
"""

import os
import sqlite3
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from backoffice.tests.test_production_smoke import free_port, stop_process_groups, wait_for

pytestmark = pytest.mark.slow  # migrates a database and starts web, worker and beat processes

BASE_DIR = Path(settings.BASE_DIR)
SEED = (
    "from django_celery_beat.models import IntervalSchedule, PeriodicTask; "
    "every, _ = IntervalSchedule.objects.get_or_create(every=2, period=IntervalSchedule.SECONDS); "
    "PeriodicTask.objects.create(name='embedded: daily rollup', task='reporting.tasks.rollup_daily', interval=every)"
)


def procfile_dev():
    lines = (BASE_DIR / "Procfile.dev").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line and not line.startswith("#"))


@pytest.fixture
def embedded(tmp_path):
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        pytest.skip("the embedded default is SQLite: checked in the SQLite pass")
    (tmp_path / "broker" / "control").mkdir(parents=True)
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_", "PYTEST", "REDIS_"))},
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "DJANGO_SETTINGS_MODULE": "backoffice.settings.local",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "PRIVATE_MEDIA_ROOT": str(tmp_path / "private_media"),
        "CELERY_BROKER_URL": "filesystem://localhost/",  # as `make run` sets them when no Redis answers
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "CELERY_FILESYSTEM_BROKER_DIR": str(tmp_path / "broker"),
        "PORT": str(port),
    }
    for args in (["migrate", "--noinput", "-v0"], ["shell", "-v0", "-c", SEED]):
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, result.stderr[-3000:]
    processes = []
    try:
        for name, command in procfile_dev().items():
            log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115 (closed with its process below)
            process = subprocess.Popen(
                ["sh", "-c", command],
                cwd=BASE_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            processes.append((process, log))
        yield {"db": tmp_path / "db.sqlite3", "port": port, "logs": tmp_path}
    finally:
        stop_process_groups(process for process, _log in processes)
        for _process, log in processes:
            log.close()


def answers(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def test_make_run_serves_the_site_and_runs_scheduled_jobs(embedded):
    def recorded_runs():
        with sqlite3.connect(embedded["db"], timeout=5) as db:
            table = db.execute("SELECT name FROM sqlite_master WHERE type='table' AND name LIKE '%taskrun'").fetchone()
            return db.execute(
                f"SELECT count(*) FROM {table[0]} WHERE task_name = 'reporting.tasks.rollup_daily' "
                "AND status = 'succeeded'"
            ).fetchone()[0]

    try:
        wait_for(lambda: answers(f"http://127.0.0.1:{embedded['port']}/healthz"), 90, "runserver did not answer")
        wait_for(lambda: recorded_runs() >= 2, 90, "the worker recorded no two runs of the scheduled job")
    except AssertionError:
        for name in ("web", "worker", "beat"):
            print(f"--- {name} ---\n{(embedded['logs'] / f'{name}.log').read_text(errors='replace')[-3000:]}")
        raise
    with sqlite3.connect(embedded["db"], timeout=5) as db:
        last_run = db.execute(
            "SELECT last_run_at FROM django_celery_beat_periodictask WHERE name = 'embedded: daily rollup'"
        ).fetchone()[0]
    assert last_run is not None  # what Schedules shows as "Last run"
