"""/healthz and /readyz: what a load balancer and an orchestrator probe."""

import socket
import time

import pytest
from django.db import OperationalError
from django.test import override_settings

from backoffice import health
from backoffice.testing.servers import silent_server


def dead_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_healthz_answers_without_touching_the_database(client):
    # No django_db mark: any query here would fail the test.
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


@override_settings(ALLOWED_HOSTS=["rewards.example.com"], SECURE_SSL_REDIRECT=True)
@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_skip_the_https_redirect_and_the_host_check(client, path):
    response = client.get(path, HTTP_HOST="10.0.0.7:8000")
    assert response.status_code == 200
    assert client.get("/", HTTP_HOST="rewards.example.com").status_code == 301  # everything else is redirected
    assert client.get("/", HTTP_HOST="10.0.0.7:8000", secure=True).status_code == 400  # and host-checked


@pytest.mark.django_db
def test_readyz_is_ok_when_every_dependency_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "down": [], "checks": {"database": "ok", "cache": "ok", "broker": "ok"}}


@pytest.mark.django_db
def test_readyz_names_an_unreachable_broker(client):
    with override_settings(CELERY_TASK_ALWAYS_EAGER=False, CELERY_BROKER_URL=f"redis://127.0.0.1:{dead_port()}/1"):
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["down"]) == ("unavailable", ["broker"])
    assert body["checks"]["database"] == "ok"


@pytest.mark.django_db
def test_readyz_names_an_unreachable_database(client, monkeypatch):
    def refuse():
        raise OperationalError("connection refused")

    monkeypatch.setitem(health.CHECKS, "database", refuse)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["down"] == ["database"]
    assert "connection refused" in response.json()["checks"]["database"]


def test_a_check_that_never_answers_is_reported_after_the_timeout(monkeypatch, settings):
    settings.READINESS_TIMEOUT = 0.2
    monkeypatch.setitem(health.CHECKS, "database", lambda: None)
    monkeypatch.setitem(health.CHECKS, "broker", lambda: __import__("time").sleep(5))
    assert health.readiness()["broker"] == "no answer within 0.2 s"


@pytest.mark.slow  # waits out a timeout
def test_a_database_server_that_accepts_and_never_answers_is_reported_after_the_timeout(monkeypatch, settings):
    settings.READINESS_TIMEOUT = 1
    monkeypatch.setitem(health.CHECKS, "cache", lambda: None)
    monkeypatch.setitem(health.CHECKS, "broker", lambda: None)
    with silent_server() as port:
        postgres = {"ENGINE": "django.db.backends.postgresql", "NAME": "rewards", "HOST": "127.0.0.1", "PORT": port}
        monkeypatch.setattr(health, "database_settings", lambda: postgres)
        started = time.monotonic()
        result = health.readiness()
    assert result["database"] == "no answer within 1 s"
    assert time.monotonic() - started < 3
