"""Probes for a load balancer and an orchestrator.

- `/healthz`: the process is up and answering. Touches nothing else, so a database outage does not get every
  instance killed and restarted.
- `/readyz`: the database, the cache and the Celery broker each answer within READINESS_TIMEOUT seconds;
  otherwise 503 with the failing parts named, so traffic goes elsewhere and the operator knows why.

Both are answered by HealthCheckMiddleware, first in MIDDLEWARE: before the HTTPS redirect and before
ALLOWED_HOSTS is checked, since probes come over plain HTTP to the instance's own address.
"""

import logging
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse

logger = logging.getLogger(__name__)

HEALTH_PATHS = {"/healthz", "/readyz"}


def database_settings():
    return settings.DATABASES["default"]


def database_is_networked():
    return database_settings()["ENGINE"] == "django.db.backends.postgresql"


def check_database():
    """PostgreSQL: a connection of the probe's own, so the whole check (connect, then a query that a stuck server
    may never answer) runs in the probe's thread and is bounded by READINESS_TIMEOUT. SQLite: Django's connection
    (a local file, nothing to wait for; Django connections belong to their thread)."""
    if not database_is_networked():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return
    import psycopg

    database = database_settings()
    with psycopg.connect(
        dbname=database["NAME"],
        user=database.get("USER") or None,
        password=database.get("PASSWORD") or None,
        host=database.get("HOST") or None,
        port=database.get("PORT") or None,
        # The probe reports "no answer" at READINESS_TIMEOUT; these only end the abandoned thread soon after.
        connect_timeout=round(settings.READINESS_TIMEOUT) + 2,
        options=f"-c statement_timeout={round(settings.READINESS_TIMEOUT * 1000) + 2000}",
        autocommit=True,
    ) as probe:
        probe.execute("SELECT 1").fetchone()


def check_cache():
    """Ask Redis itself: the project's cache turns Redis errors into misses, which would hide an outage here."""
    if settings.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache":
        from django_redis import get_redis_connection

        get_redis_connection("default").ping()
    else:
        cache.set("readyz", "ok", 5)
        if cache.get("readyz") != "ok":
            raise RuntimeError("cache did not return what was just stored")


def check_broker():
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return  # tasks run inline: no broker to reach
    from backoffice.celery import app

    with app.connection_for_write(url=settings.CELERY_BROKER_URL, connect_timeout=settings.READINESS_TIMEOUT) as conn:
        conn.ensure_connection(max_retries=1, timeout=settings.READINESS_TIMEOUT)


CHECKS = {"database": check_database, "cache": check_cache, "broker": check_broker}


def _run_with_timeout(check, timeout):
    """A check that neither answers nor fails (a silent port) is reported down after `timeout` seconds."""
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        pool.submit(check).result(timeout=timeout)
    finally:
        pool.shutdown(wait=False)


def readiness():
    """{part: "ok" or the reason it is down}."""
    results = {}
    for name, check in CHECKS.items():
        try:
            if name == "database" and not database_is_networked():
                check()
            else:
                _run_with_timeout(check, settings.READINESS_TIMEOUT)
            results[name] = "ok"
        except FutureTimeout:
            results[name] = f"no answer within {settings.READINESS_TIMEOUT:g} s"
        except Exception as error:  # any failure means "not ready"; name it, never raise from a probe
            results[name] = f"{type(error).__name__}: {error}"[:200]
    return results


def healthz(request):
    return JsonResponse({"status": "ok"})


def readyz(request):
    results = readiness()
    down = sorted(name for name, result in results.items() if result != "ok")
    if down:
        logger.warning("not ready: %s", ", ".join(f"{name} ({results[name]})" for name in down))
    return JsonResponse(
        {"status": "unavailable" if down else "ok", "down": down, "checks": results}, status=503 if down else 200
    )


class HealthCheckMiddleware:
    """Answers /healthz and /readyz (GET or HEAD) before anything else can redirect or refuse the probe."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path in HEALTH_PATHS and request.method in {"GET", "HEAD"}:
            return healthz(request) if request.path == "/healthz" else readyz(request)
        return self.get_response(request)
