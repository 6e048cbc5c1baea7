"""The production setup, run as an operator runs it (README "Production"), checked over HTTP.

A database of its own on the test's PostgreSQL server, a Redis of its own (cache and Celery broker), the
Procfile's `release` step, then its `web` (gunicorn), `worker` and `beat` processes under
backoffice.settings.production on loopback ports. Every process is stopped and the database dropped afterwards.
"""

import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.conf import settings

# One stack for the whole module: its tests stay on one xdist worker (make test runs --dist loadgroup).
pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("production_smoke")]
BASE_DIR = Path(settings.BASE_DIR)
STARTUP_SECONDS = 90
JOB_SECONDS = 90

SEED = """
import json
from django.core.files.base import ContentFile
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from backoffice.images import placeholder_png
from catalog import services
from catalog.models import App, Category

category = Category.objects.create(name="Games", slug="games")
image = placeholder_png("smk", name="smoke.png")
app = services.save_app(app=App(name="Smoke Test", slug="smoke-test", category=category, image=image, points_reward=10))
every_two_seconds, _ = IntervalSchedule.objects.get_or_create(every=2, period=IntervalSchedule.SECONDS)
PeriodicTask.objects.create(name="smoke: daily rollup", task="reporting.tasks.rollup_daily", interval=every_two_seconds)
print(json.dumps({"image_url": app.image.url, "slug": app.slug}))
"""


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def procfile():
    lines = (BASE_DIR / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line and not line.startswith("#"))


def wait_for(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"{what} within {seconds} s")


class Stack:
    """The processes and database of one production run; `stop()` undoes everything."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.processes = {}
        self.logs = {}
        self.db_name = f"rewards_smoke_{uuid.uuid4().hex[:10]}"
        db = settings.DATABASES["default"]
        self.server = {
            "host": db["HOST"] or "127.0.0.1",
            "port": db["PORT"] or 5432,
            "user": db["USER"],
            "password": db["PASSWORD"] or None,
        }
        credentials = quote(db["USER"]) + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
        self.database_url = f"postgres://{credentials}@{self.server['host']}:{self.server['port']}/{self.db_name}"
        self.redis_port, self.web_port, self.flower_port = free_port(), free_port(), free_port()
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_", "PYTEST"))},
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "SECRET_KEY": "smoke-" + uuid.uuid4().hex + uuid.uuid4().hex,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "MEDIA_ROOT": str(tmp / "media"),
            "PRIVATE_MEDIA_ROOT": str(tmp / "private_media"),
            "STATIC_ROOT": str(tmp / "staticfiles"),
            "BIND_ADDRESS": "127.0.0.1",
            "PORT": str(self.web_port),
            "WEB_CONCURRENCY": "2",
            "FLOWER_ADDRESS": "127.0.0.1",
            "FLOWER_PORT": str(self.flower_port),
            "FLOWER_BASIC_AUTH": "ops:flower-pass",
        }

    def admin_sql(self, statement):
        with psycopg.connect(dbname="postgres", autocommit=True, connect_timeout=5, **self.server) as conn:
            conn.execute(statement)

    def query(self, sql):
        with psycopg.connect(dbname=self.db_name, connect_timeout=5, **self.server) as conn:
            return conn.execute(sql).fetchall()

    def start(self, name, command):
        log = open(self.tmp / f"{name}.log", "wb")  # noqa: SIM115 (closed in stop())
        self.logs[name] = log
        self.processes[name] = subprocess.Popen(
            command if isinstance(command, list) else ["sh", "-c", command],
            cwd=BASE_DIR,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopping it stops gunicorn's and celery's children
        )

    def run(self, name, command, timeout):
        result = subprocess.run(
            ["sh", "-c", command], cwd=BASE_DIR, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        assert result.returncode == 0, f"{name} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        return result.stdout

    def log_tail(self, name, chars=3000):
        path = self.tmp / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def stop(self):
        stop_process_groups(self.processes.values())
        for log in self.logs.values():
            log.close()
        self.admin_sql(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')


def group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def stop_process_groups(processes, grace_seconds=15):
    """SIGTERM each process's group (the shell, gunicorn/celery and their children), SIGKILL what outlives it."""
    processes = list(processes)
    for process in processes:
        if group_alive(process.pid):
            os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline and any(group_alive(p.pid) for p in processes):
        time.sleep(0.2)
    for process in processes:
        if group_alive(process.pid):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        pytest.skip("the production smoke test runs in the PostgreSQL pass (DATABASE_URL=postgres://...)")
    redis_server = shutil.which("redis-server")
    if redis_server is None:
        pytest.fail("redis-server is not installed: the production smoke test needs it (apt-get install redis-server)")
    stack = Stack(tmp_path_factory.mktemp("production"))
    stack.admin_sql(f'CREATE DATABASE "{stack.db_name}"')
    try:
        stack.start(
            "redis",
            [redis_server, "--port", str(stack.redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        )
        processes = procfile()
        stack.run("release", processes["release"], timeout=300)
        stack.seed = json.loads(
            stack.run(
                "seed",
                f"env DJANGO_SETTINGS_MODULE=backoffice.settings.production python manage.py shell -v0 -c '{SEED}'",
                timeout=120,
            )
            .strip()
            .splitlines()[-1]
        )
        for name in ("web", "worker", "beat", "flower"):
            stack.start(name, processes[name])
        wait_for(lambda: get(stack, "/healthz", proxied=False)[0] == 200, STARTUP_SECONDS, "gunicorn did not answer")
        yield stack
    except BaseException:
        for name in ("release", "web", "worker", "beat", "flower"):
            print(f"--- {name} ---\n{stack.log_tail(name)}")
        raise
    finally:
        stack.stop()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def get(stack, path, proxied=True):
    """(status, headers, body). `proxied`: as the load balancer forwards it, after terminating HTTPS."""
    request = urllib.request.Request(f"http://127.0.0.1:{stack.web_port}{path}")
    if proxied:
        request.add_header("X-Forwarded-Proto", "https")
    try:
        with OPENER.open(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()
    except OSError:
        return None, {}, b""


def static_url(stack, name):
    manifest = json.loads((stack.tmp / "staticfiles" / "staticfiles.json").read_text())["paths"]
    return f"/static/{manifest[name]}"


def test_public_pages_answer(stack):
    for path in ("/", "/apps/", f"/apps/{stack.seed['slug']}/", "/leaderboard/", "/accounts/login/"):
        status, _headers, body = get(stack, path)
        assert status == 200, (path, status, body[:300])


def test_plain_http_is_redirected_to_https(stack):
    status, headers, _body = get(stack, "/", proxied=False)
    assert (status, headers["Location"]) == (301, f"https://127.0.0.1:{stack.web_port}/")


def test_the_site_css_is_served_under_its_hashed_name(stack):
    _status, _headers, page = get(stack, "/")
    css = re.search(rb'href="(/static/css/site\.[0-9a-f]{12}\.css)"', page)
    assert css, page[:1000]
    status, headers, _body = get(stack, css[1].decode())
    assert (status, headers["Content-Type"].split(";")[0]) == (200, "text/css")


def test_the_admin_login_page_and_its_css(stack):
    status, _headers, page = get(stack, "/admin/login/")
    assert status == 200
    stylesheets = re.findall(rb'href="(/static/wagtailadmin/css/[^"]+\.css)"', page)
    assert stylesheets, page[:1000]
    for href in stylesheets:
        status, headers, body = get(stack, href.decode())
        assert (status, headers["Content-Type"].split(";")[0]) == (200, "text/css")
        assert len(body) > 1000


def test_chart_js_and_its_source_map_are_served(stack):
    status, headers, body = get(stack, static_url(stack, "vendor/chartjs/chart.umd.min.js"))
    assert status == 200 and b"Chart" in body[:2000]
    assert "max-age=315360000" in headers["Cache-Control"]  # hashed names: cached for ever
    assert get(stack, static_url(stack, "vendor/chartjs/chart.umd.min.js.map"))[0] == 200


def test_an_uploaded_app_image_is_served(stack):
    status, headers, body = get(stack, stack.seed["image_url"])
    assert (status, headers["Content-Type"]) == (200, "image/png")
    assert body.startswith(b"\x89PNG")
    assert body == (stack.tmp / "media" / stack.seed["image_url"].removeprefix("/media/")).read_bytes()


def test_the_api_answers(stack):
    status, _headers, body = get(stack, "/api/apps/")
    assert status == 200
    assert [app["slug"] for app in json.loads(body)["results"]] == [stack.seed["slug"]]


def test_health_probes_answer_over_plain_http_on_any_host(stack):
    assert get(stack, "/healthz", proxied=False)[0] == 200
    status, _headers, body = get(stack, "/readyz", proxied=False)
    assert status == 200, body
    assert json.loads(body)["checks"] == {"database": "ok", "cache": "ok", "broker": "ok"}


def test_a_scheduled_job_is_run_by_the_worker_and_recorded(stack):
    def recorded_runs():
        table = stack.query("SELECT table_name FROM information_schema.tables WHERE table_name LIKE '%%\\_taskrun'")
        if not table:
            return []
        job = "reporting.tasks.rollup_daily"
        return stack.query(f"SELECT status FROM {table[0][0]} WHERE task_name = '{job}' AND status = 'succeeded'")

    try:
        wait_for(lambda: len(recorded_runs()) >= 2, JOB_SECONDS, "beat + worker recorded no two runs of the job")
    except AssertionError:
        print(f"--- beat ---\n{stack.log_tail('beat')}\n--- worker ---\n{stack.log_tail('worker')}")
        raise
    last_run = stack.query("SELECT last_run_at FROM django_celery_beat_periodictask WHERE name = 'smoke: daily rollup'")
    assert last_run[0][0] is not None  # Schedules' "Last run"


def test_flower_answers_only_with_its_password(stack):
    url = f"http://127.0.0.1:{stack.flower_port}/"

    def status(auth=None):
        request = urllib.request.Request(url)
        if auth:
            request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            return None

    wait_for(lambda: status() is not None, STARTUP_SECONDS, "flower did not answer")
    assert (status(), status("ops:wrong"), status("ops:flower-pass")) == (401, 401, 200)


def test_worker_logs_are_json_lines(stack):
    lines = [line for line in stack.log_tail("worker", 20000).splitlines() if line.startswith("{")]
    assert lines, stack.log_tail("worker")
    assert {"time", "level", "logger", "message", "request_id"} <= json.loads(lines[-1]).keys()
