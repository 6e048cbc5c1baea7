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


def check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


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
            if name == "database":
                check()  # Django connections belong to their thread; connect_timeout bounds it instead
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
