"""A cache outage is not an outage: with Redis dead, or accepting but silent, pages answer at once, uncached."""

import socket
import threading
import time

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from backoffice.cache import forget_cache_failures
from backoffice.settings.base import redis_cache
from backoffice.tests.factories import PASSWORD, UserFactory
from growth.tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db
QUICKLY = 3.0  # seconds: one CACHE_READ_TIMEOUT (0.5 s) plus the page itself, with room for a slow machine


def dead_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SilentServer:
    """Accepts TCP connections, reads whatever comes, never answers: a hung Redis."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.connections = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(conn)

    def close(self):
        self.sock.close()
        for conn in self.connections:
            conn.close()


@pytest.fixture(params=["dead port", "silent port"])
def broken_cache(request):
    server = None
    if request.param == "dead port":
        port = dead_port()
    else:
        server = SilentServer()
        port = server.port
    forget_cache_failures()
    with override_settings(CACHES={"default": redis_cache(f"redis://127.0.0.1:{port}/1")}):
        yield request.param
    forget_cache_failures()
    if server:
        server.close()


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_the_leaderboard_is_served_uncached(client, broken_cache):
    client.force_login(UserFactory())
    response, seconds = timed(lambda: client.get("/leaderboard/"))
    assert response.status_code == 200
    assert seconds < QUICKLY


@pytest.mark.parametrize("path", ["/", "/apps/", "/leaderboard/", "/api/apps/"])
def test_public_pages_answer_anonymous_visitors_uncached(client, broken_cache, path):
    response, seconds = timed(lambda: client.get(path))
    assert response.status_code == 200
    assert seconds < QUICKLY


def test_a_member_logs_in(client, broken_cache):
    member = UserFactory()
    response, seconds = timed(lambda: client.post("/accounts/login/", {"username": member.email, "password": PASSWORD}))
    assert response.status_code == 302, response.content[:500]
    assert seconds < QUICKLY
    assert client.get("/me/points/").wsgi_request.user == member  # the session lives in the database


@pytest.mark.parametrize("path", ["/me/points/", "/discounts/"])
def test_member_pages_answer(client, broken_cache, path):
    client.force_login(UserFactory())
    response, seconds = timed(lambda: client.get(path))
    assert response.status_code == 200
    assert seconds < QUICKLY


def test_a_redemption_goes_through(broken_cache):
    api = APIClient()
    api.force_authenticate(UserFactory(verified=True))
    campaign = CampaignFactory()
    body = {"cart_total": "100.00", "cart_reference": "order-1", "expected_points_cost": campaign.points_cost}
    response, seconds = timed(
        lambda: api.post(f"/api/campaigns/{campaign.pk}/redeem/", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    )
    assert response.status_code == 201, response.content
    assert seconds < QUICKLY


def test_the_outage_is_logged_once_as_a_warning(client, broken_cache, caplog):
    client.force_login(UserFactory())
    with caplog.at_level("WARNING", logger="backoffice.cache"):
        client.get("/leaderboard/")
        client.get("/leaderboard/")
    warnings = [r for r in caplog.records if r.name == "backoffice.cache"]
    assert len(warnings) == 1 and warnings[0].levelname == "WARNING"
    assert "serving uncached" in warnings[0].getMessage()


def test_readiness_names_the_cache(client, broken_cache):
    response, seconds = timed(lambda: client.get("/readyz"))
    assert response.status_code == 503
    assert response.json()["down"] == ["cache"]
    assert seconds < QUICKLY


@pytest.mark.slow  # a subprocess that waits out the broker timeout
def test_queuing_a_task_on_a_silent_redis_broker_fails_within_seconds_instead_of_hanging():
    from backoffice.tests.test_settings import PRODUCTION_ENV, run_manage

    server = SilentServer()
    try:
        env = {**PRODUCTION_ENV, "REDIS_URL": f"redis://127.0.0.1:{server.port}/0"}
        code = "from reporting.tasks import rollup_daily; rollup_daily.delay()"
        result, seconds = timed(lambda: run_manage("shell", "-v0", "-c", code, env=env))
    finally:
        server.close()
    assert result.returncode != 0
    assert "Timeout" in result.stderr
    assert seconds < 60  # without the broker's socket timeout this waits for ever (run_manage gives up at 120 s)


def test_with_sessions_read_through_the_cache_a_member_logs_in_and_stays_signed_in(client, broken_cache, settings):
    # Production's engine (REDIS_URL set): the database stays the record.
    settings.SESSION_ENGINE = "backoffice.sessions"
    member = UserFactory()
    response, seconds = timed(lambda: client.post("/accounts/login/", {"username": member.email, "password": PASSWORD}))
    assert response.status_code == 302, response.content[:500]
    assert seconds < QUICKLY
    response, seconds = timed(lambda: client.get("/me/points/"))
    assert (response.status_code, response.wsgi_request.user) == (200, member)
    assert seconds < QUICKLY
