import json
import os
import subprocess
import sys

import pytest
from django.conf import settings

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "backoffice.settings.production",
    "SECRET_KEY": "x" * 20 + "production-secret-key-for-the-deploy-check-0123456789",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "ALLOWED_HOSTS": "rewards.example.com",
}


def run_manage(*args, env):
    """manage.py in a new Python process (the tests that call it are marked slow: a second or more each)."""
    inherited = {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "CELERY_TASK_ALWAYS_EAGER", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if k not in inherited}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_production_settings_pass_the_deploy_check():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.slow
def test_production_refuses_to_start_without_a_real_secret_key():
    result = run_manage("check", env={**PRODUCTION_ENV, "SECRET_KEY": "short"})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


@pytest.mark.slow
def test_production_turns_debug_off_and_uses_redis():
    code = "from django.conf import settings as s; print(s.DEBUG, s.CACHES['default']['BACKEND'], s.SESSION_ENGINE)"
    result = run_manage("shell", "-v0", "-c", code, env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "django_redis.cache.RedisCache", "backoffice.sessions"]


@pytest.mark.slow
def test_embedded_defaults_need_no_environment():
    code = (
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CACHES['default']['BACKEND'], "
        "s.CELERY_TASK_ALWAYS_EAGER, s.SMS_BACKEND, s.SESSION_ENGINE)"
    )
    result = run_manage("shell", "-v0", "-c", code, env={"DJANGO_SETTINGS_MODULE": "backoffice.settings.local"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "django.core.cache.backends.locmem.LocMemCache",
        "True",
        "growth.sms.ConsoleSMSBackend",
        "django.contrib.sessions.backends.db",  # a per-process cache could not see another process's logout
    ]


@pytest.mark.slow
def test_production_logs_are_json_lines_with_a_request_id():
    code = "import logging; logging.getLogger('rewards.check').warning('hello %s', 'there')"
    result = run_manage("shell", "-v0", "-c", code, env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    line = json.loads(result.stderr.strip().splitlines()[-1])
    assert line["message"] == "hello there"
    assert (line["level"], line["logger"], line["request_id"]) == ("WARNING", "rewards.check", "-")
    assert "time" in line


IS_SENTRY_ON = "import sentry_sdk; print(sentry_sdk.get_client().is_active())"


@pytest.mark.slow
def test_sentry_is_off_without_a_dsn():
    result = run_manage("shell", "-v0", "-c", IS_SENTRY_ON, env=PRODUCTION_ENV)
    assert (result.returncode, result.stdout.strip()) == (0, "False"), result.stderr


@pytest.mark.slow
def test_sentry_reports_when_a_dsn_is_set():
    env = {**PRODUCTION_ENV, "SENTRY_DSN": "http://public@127.0.0.1:9/1"}
    result = run_manage("shell", "-v0", "-c", IS_SENTRY_ON, env=env)
    assert (result.returncode, result.stdout.strip()) == (0, "True"), result.stderr


@pytest.mark.slow
def test_s3_media_needs_a_bucket():
    result = run_manage("check", env={**PRODUCTION_ENV, "MEDIA_STORAGE": "s3"})
    assert result.returncode != 0
    assert "AWS_STORAGE_BUCKET_NAME" in result.stderr


def procfile():
    lines = (settings.BASE_DIR / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line and not line.startswith("#"))


def test_every_procfile_process_runs_under_production_settings():
    processes = procfile()
    assert {"release", "web", "worker", "beat", "flower"} <= processes.keys()
    for name, command in processes.items():
        assert command.startswith("env DJANGO_SETTINGS_MODULE=backoffice.settings.production "), name


def test_the_release_step_migrates_and_collects_static_files():
    release = procfile()["release"]
    assert "manage.py migrate --noinput" in release and "manage.py collectstatic --noinput" in release


@pytest.mark.slow
def test_flower_refuses_to_start_without_basic_auth():
    env = {k: v for k, v in os.environ.items() if k != "FLOWER_BASIC_AUTH"}
    result = subprocess.run(
        ["sh", "-c", procfile()["flower"]], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode != 0
    assert "FLOWER_BASIC_AUTH" in result.stderr


def test_server_entry_points_default_to_production_settings():
    for module in ("wsgi.py", "asgi.py", "celery.py"):
        source = (settings.BASE_DIR / "backoffice" / module).read_text()
        assert 'setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings.production")' in source, module
