"""Sessions in the database, read through the cache for at most SESSION_CACHE_SECONDS (backoffice/sessions.py)."""

import time

import pytest
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backoffice.sessions import SessionStore
from backoffice.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def cached_sessions(settings):
    settings.SESSION_ENGINE = "backoffice.sessions"
    settings.SESSION_CACHE_SECONDS = 60
    cache.clear()
    yield
    cache.clear()


def signed_in(client):
    member = UserFactory()
    assert client.post("/accounts/login/", {"username": member.email, "password": PASSWORD}).status_code == 302
    return member


def session_queries(client, path="/me/points/"):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    return [q["sql"] for q in queries.captured_queries if "django_session" in q["sql"]]


def test_a_signed_in_request_reads_its_session_from_the_cache_not_the_database(client):
    signed_in(client)
    assert session_queries(client) == []


def test_the_session_is_still_written_to_the_database(client):
    signed_in(client)
    assert Session.objects.filter(session_key=client.cookies["sessionid"].value).exists()


def test_a_session_missing_from_the_cache_is_read_from_the_database(client):
    member = signed_in(client)
    cache.clear()
    assert len(session_queries(client)) == 1
    assert client.get("/me/points/").wsgi_request.user == member


def test_the_cached_copy_lives_session_cache_seconds_while_the_cookie_keeps_its_age(settings, monkeypatch):
    settings.SESSION_CACHE_SECONDS = 5
    timeouts = []
    monkeypatch.setattr(cache, "set", lambda key, value, timeout=None, **kw: timeouts.append(timeout))
    store = SessionStore()
    store["member"] = 1
    store.save()
    assert timeouts and set(timeouts) == {5}
    assert store.get_expiry_age() == settings.SESSION_COOKIE_AGE


def test_a_session_shorter_than_the_bound_is_cached_for_its_own_age(settings, monkeypatch):
    timeouts = []
    monkeypatch.setattr(cache, "set", lambda key, value, timeout=None, **kw: timeouts.append(timeout))
    store = SessionStore()
    store.set_expiry(10)
    store.save()
    assert timeouts and set(timeouts) == {10}


def test_a_logged_out_session_is_refused(client):
    signed_in(client)
    old_cookie = client.cookies["sessionid"].value
    client.post("/accounts/logout/")
    client.cookies["sessionid"] = old_cookie
    assert not client.get("/me/points/").wsgi_request.user.is_authenticated


def test_a_logout_the_cache_missed_is_forgotten_within_the_bound(client, settings):
    """The database delete landed, the cache delete did not (Redis unreachable): the copy expires on its own."""
    settings.SESSION_CACHE_SECONDS = 1
    signed_in(client)
    Session.objects.all().delete()  # what a logout writes to the database
    assert client.get("/me/points/").wsgi_request.user.is_authenticated  # served from the cached copy
    time.sleep(1.1)
    assert not client.get("/me/points/").wsgi_request.user.is_authenticated


def test_a_deactivated_member_is_signed_out_at_once_although_the_session_is_cached(client):
    member = signed_in(client)
    member.is_active = False
    member.save(update_fields=["is_active"])
    assert not client.get("/me/points/").wsgi_request.user.is_authenticated


def test_a_password_change_signs_the_other_sessions_out_at_once(client):
    member = signed_in(client)
    member.set_password("another-password-4711")
    member.save(update_fields=["password"])
    assert not client.get("/me/points/").wsgi_request.user.is_authenticated


@pytest.mark.parametrize("forever", [True, False], ids=["timeout None", "no timeout"])
def test_a_copy_cached_without_a_timeout_still_lives_only_the_bound(settings, monkeypatch, forever):
    from backoffice.sessions import _BoundedCache

    settings.SESSION_CACHE_SECONDS = 5
    timeouts = []
    monkeypatch.setattr(cache, "set", lambda key, value, timeout=None, **kw: timeouts.append(timeout))
    bounded = _BoundedCache(cache)
    if forever:
        bounded.set("k", "v", None)
    else:
        bounded.set("k", "v")
    assert timeouts == [5]
