"""API throttles: a token bucket per client, spent inside Redis in one round trip (backoffice/throttling.py)."""

import shutil
import socket
import subprocess
import time

import pytest
import redis
from django.core.cache import cache
from django.test import override_settings

from backoffice.settings.base import redis_cache
from backoffice.throttling import _spend_in_redis

pytestmark = pytest.mark.slow  # starts a real redis-server


@pytest.fixture(scope="module")
def redis_url():
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def on_redis(redis_url):
    with override_settings(CACHES={"default": redis_cache(redis_url)}):
        cache.clear()
        yield
        cache.clear()


def test_a_burst_spends_the_bucket_then_refills_with_time(on_redis):
    spent = [_spend_in_redis(cache, "client-a", 3, 60, 1000.0)[0] for _ in range(4)]
    assert spent == [True, True, True, False]
    assert _spend_in_redis(cache, "client-a", 3, 60, 1020.0)[0] is True  # 20 s refill one of 3 per minute
    assert _spend_in_redis(cache, "client-a", 3, 60, 1020.0)[0] is False


def test_clients_have_their_own_buckets(on_redis):
    for _ in range(2):
        _spend_in_redis(cache, "client-a", 2, 60, 1000.0)
    assert _spend_in_redis(cache, "client-a", 2, 60, 1000.0)[0] is False
    assert _spend_in_redis(cache, "client-b", 2, 60, 1000.0)[0] is True


@pytest.mark.django_db
def test_the_api_answers_429_once_the_anonymous_bucket_is_empty(client, on_redis, settings):
    from rest_framework.settings import api_settings
    from rest_framework.throttling import SimpleRateThrottle

    rates = {"anon": "2/minute", "user": "5/minute"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    original_rates = SimpleRateThrottle.THROTTLE_RATES
    api_settings.reload()
    SimpleRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    try:
        statuses = [client.get("/api/apps/").status_code for _ in range(3)]
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original_rates
    assert statuses == [200, 200, 429]
