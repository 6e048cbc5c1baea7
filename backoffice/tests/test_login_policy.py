"""One login policy for every login form (backoffice.login_policy)."""

import datetime
import threading

import pytest
from django.contrib.auth import authenticate
from django.test import Client, RequestFactory

from backoffice.login_policy import LoginAttemptWindow, normalise_identifier
from backoffice.testing.concurrency import run_in_threads
from backoffice.tests.factories import PASSWORD, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

LOGIN_URLS = ["/accounts/login/", "/admin/login/", "/django-admin/login/"]


def attempt(client, url, username, password):
    return client.post(url, {"username": username, "password": password})


def logged_in(client):
    return "_auth_user_id" in client.session


@pytest.mark.parametrize("url", LOGIN_URLS)
def test_every_login_form_locks_after_the_limit_and_answers_alike_for_right_and_wrong_passwords(client, url):
    user = StaffFactory(is_superuser=True)
    for _ in range(5):
        assert attempt(client, url, user.email, "wrong").status_code == 200
    wrong = attempt(client, url, user.email, "wrong")
    right = attempt(client, url, user.email, PASSWORD)
    assert (wrong.status_code, right.status_code) == (429, 429)
    assert wrong.content == right.content
    assert not logged_in(client)


@pytest.mark.parametrize("url", ["/admin/login/", "/django-admin/login/"])
def test_a_lockout_on_the_public_form_holds_on_the_admin_forms(client, url):
    user = StaffFactory(is_superuser=True)
    for _ in range(5):
        attempt(client, "/accounts/login/", user.email, "wrong")
    assert attempt(client, url, user.email, PASSWORD).status_code == 429
    assert not logged_in(client)


def test_unicode_compatibility_forms_and_case_count_as_the_same_identifier(client):
    user = UserFactory(email="member@example.test")
    variants = [
        "ｍember@example.test",
        "MEMBER@example.test",
        "member@ｅxample.test",
        " Member@Example.test",
        "ⓜember@example.test",
    ]
    assert {normalise_identifier(v) for v in variants[:4]} == {"member@example.test"}
    for variant in variants:
        attempt(client, "/accounts/login/", variant, "wrong")
    assert attempt(client, "/accounts/login/", user.email, PASSWORD).status_code == 429


def test_one_address_is_limited_across_identifiers(client, settings):
    settings.LOGIN_FAILURES_PER_IP = 6
    for n in range(6):
        attempt(client, "/accounts/login/", f"nobody{n}@example.test", "wrong")
    user = UserFactory()
    assert attempt(client, "/accounts/login/", user.email, PASSWORD).status_code == 429
    other_address = Client(REMOTE_ADDR="198.51.100.9")
    assert attempt(other_address, "/accounts/login/", user.email, PASSWORD).status_code == 302


def test_the_client_address_comes_from_the_trusted_proxy_header(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.LOGIN_FAILURES_PER_IP = 2
    user = UserFactory()
    spoofing = Client(HTTP_X_FORWARDED_FOR="203.0.113.5")
    for n in range(2):
        attempt(Client(HTTP_X_FORWARDED_FOR=f"1.1.1.{n}, 203.0.113.5"), "/accounts/login/", f"x{n}@example.test", "x")
    assert attempt(spoofing, "/accounts/login/", user.email, PASSWORD).status_code == 429
    assert (
        attempt(Client(HTTP_X_FORWARDED_FOR="203.0.113.6"), "/accounts/login/", user.email, PASSWORD).status_code == 302
    )


def test_the_lock_ends_when_the_window_is_over(client, settings):
    user = UserFactory()
    for _ in range(5):
        attempt(client, "/accounts/login/", user.email, "wrong")
    past = datetime.timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS + 1)
    for row in LoginAttemptWindow.objects.all():
        row.window_started_at -= past
        row.save()
    assert attempt(client, "/accounts/login/", user.email, PASSWORD).status_code == 302


def test_a_successful_login_clears_the_identifiers_count(client):
    user = UserFactory()
    for _ in range(4):
        attempt(client, "/accounts/login/", user.email, "wrong")
    assert attempt(client, "/accounts/login/", user.email, PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        attempt(client, "/accounts/login/", user.email, "wrong")
    assert attempt(client, "/accounts/login/", user.email, PASSWORD).status_code == 302


def test_the_policy_holds_when_the_cache_is_down(client, settings):
    """Counts live in the database: a dead cache neither opens nor breaks the lock."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:8499/4",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        }
    }
    user = UserFactory()
    for _ in range(5):
        attempt(client, "/accounts/login/", user.email, "wrong")
    assert attempt(client, "/accounts/login/", user.email, PASSWORD).status_code == 429


@pytest.mark.django_db(transaction=True)
def test_parallel_wrong_passwords_check_at_most_the_limit(on_postgres, monkeypatch):
    user = UserFactory()
    checked = []
    lock = threading.Lock()
    original = type(user).check_password

    def counting_check_password(self, raw_password):
        with lock:
            checked.append(raw_password)
        return original(self, raw_password)

    monkeypatch.setattr(type(user), "check_password", counting_check_password)

    def try_once(n):
        request = RequestFactory().post("/accounts/login/", REMOTE_ADDR="192.0.2.10")
        return authenticate(request, username=user.email, password=f"wrong-{n}")

    results, errors = run_in_threads(20, try_once)
    assert errors == []
    assert results == [None] * 20
    assert len(checked) <= 5
    assert LoginAttemptWindow.objects.get(key__startswith="id:").attempts == 5
