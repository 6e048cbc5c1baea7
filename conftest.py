"""Project-wide test hooks and fixtures."""

import pytest
from django.db import connection
from django.test import override_settings

DB_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback", "live_server"}


def _uses_database(item):
    return item.get_closest_marker("django_db") is not None or bool(DB_FIXTURES & set(item.fixturenames))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """After every passing test that used the database, each balance must equal the sum of its ledger entries."""
    result = yield
    if _uses_database(item):
        from moderation.selectors import users_with_unbalanced_ledger

        unbalanced = [(u.email, u.points_balance, u.ledger_total) for u in users_with_unbalanced_ledger()]
        assert unbalanced == [], f"ledger check failed, balance != sum(entries) for {unbalanced}"
    return result


@pytest.fixture
def on_postgres():
    """Skip unless on PostgreSQL: row locks and real concurrency can only be proven there."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL for real row locks (run with DATABASE_URL=postgres://...)")


@pytest.fixture(autouse=True)
def fresh_cache():
    """Rate limits, throttles and cached pages live in the cache, sent SMS in the console outbox: no test inherits
    another's, whatever order the workers run them in."""
    from django.core.cache import caches

    from backoffice.cache import forget_local_cache
    from growth.sms import ConsoleSMSBackend

    for cache in caches.all(initialized_only=True):
        cache.clear()
    forget_local_cache()  # each process's copy of cached pages and versions (backoffice/cache.py)
    ConsoleSMSBackend.outbox.clear()  # SMS sent by an earlier test in this worker are not this test's


@pytest.fixture(autouse=True)
def emails_go_through_deliveries():
    """pytest-django swaps EMAIL_BACKEND for its outbox; put the project's queue back in front of it, so every
    test sends email the way production does (a Delivery row, then the real backend: the test outbox).

    override_settings, not the `settings` fixture: a test's own `settings` changes must be undone before the
    other autouse fixtures tear down (growth's clears the cache, which a test may have pointed at a dead port).
    """
    with override_settings(EMAIL_BACKEND="backoffice.delivery.QueuedEmailBackend"):
        yield
