"""Project-wide test hooks and fixtures."""

import hashlib
import os
import shutil
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.test import override_settings

DB_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback", "live_server"}


def _uses_database(item):
    return item.get_closest_marker("django_db") is not None or bool(DB_FIXTURES & set(item.fixturenames))


def _on_sqlite():
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"


def pytest_collection_modifyitems(config, items):
    """A test that asks for `on_postgres` carries the `postgres` marker (so `-m "not postgres"` leaves it out), and
    on SQLite it is skipped before its set-up: a transactional one would otherwise flush every table for nothing."""
    skip = pytest.mark.skip(reason="needs PostgreSQL for real row locks (run with DATABASE_URL=postgres://...)")
    for item in items:
        if "on_postgres" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)
            if _on_sqlite():
                item.add_marker(skip)


# --- a migrated SQLite database, made once -------------------------------------------------------------------
# Migrating an empty database (Wagtail's and every app's migrations) costs each pytest worker the better part of a
# minute of CPU (80 s measured on a loaded machine), on every run. On SQLite each worker's test database is a file
# instead, copied from a snapshot taken right after the first migration with the same migrations and requirements:
# exactly what migrating would build. Delete /tmp/rewards-migrated-*.sqlite3 to force a fresh migration.


def _migrated_snapshot():
    digest = hashlib.sha1()
    base = Path(settings.BASE_DIR)
    for path in sorted([*base.glob("*/migrations/*.py"), *base.glob("requirements*.txt")]):
        digest.update(path.name.encode() + path.read_bytes())
    digest.update(repr(settings.INSTALLED_APPS).encode())
    return Path(tempfile.gettempdir()) / f"rewards-migrated-{digest.hexdigest()[:16]}.sqlite3"


_SNAPSHOT_USED = pytest.StashKey[bool]()


@pytest.fixture(scope="session")
def django_db_modify_db_settings(request):
    """On SQLite, each pytest process's test database is a file of its own in the temp folder, started from the
    migrated snapshot when there is one (unless --create-db)."""
    database = settings.DATABASES["default"]
    request.config.stash[_SNAPSHOT_USED] = False
    if _on_sqlite() and not database.get("TEST", {}).get("NAME"):
        test_database = Path(tempfile.gettempdir()) / f"rewards-test-{os.getpid()}.sqlite3"
        database.setdefault("TEST", {})["NAME"] = str(test_database)
        snapshot = _migrated_snapshot()
        if snapshot.exists() and not request.config.getvalue("create_db"):
            shutil.copyfile(snapshot, test_database)
            request.config.stash[_SNAPSHOT_USED] = True
    else:  # PostgreSQL: pytest-xdist's workers each get test_<name>_gw<n>
        request.getfixturevalue("django_db_modify_db_settings_parallel_suffix")


@pytest.fixture(scope="session")
def django_db_keepdb(request, django_db_modify_db_settings):
    """A database copied from the snapshot is kept (`migrate` finds nothing to do), as with --reuse-db."""
    return request.config.getvalue("reuse_db") or request.config.stash[_SNAPSHOT_USED]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, request):
    """After a first migration, keep a copy of the SQLite file as the snapshot for the next runs; at the end remove
    the copy this run worked on (Django keeps a database it did not create)."""
    test_name = settings.DATABASES["default"].get("TEST", {}).get("NAME")
    snapshot = _migrated_snapshot() if _on_sqlite() and test_name else None
    used = request.config.stash[_SNAPSHOT_USED]
    if snapshot and not snapshot.exists() and not used:
        partial = snapshot.with_name(f"{snapshot.name}.{os.getpid()}")
        with closing(sqlite3.connect(test_name)) as source, closing(sqlite3.connect(partial)) as copy:
            source.backup(copy)
        os.replace(partial, snapshot)  # whole or not at all, whichever process finishes first
    yield
    if snapshot and request.getfixturevalue("django_db_keepdb"):  # a file named after this process: not reused
        for path in Path(test_name).parent.glob(Path(test_name).name + "*"):
            path.unlink(missing_ok=True)


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

    # Every configured cache, not only those this context already opened: after a test that changed CACHES, Django
    # starts with no cache open, while LocMemCache's entries (kept per process) would still hold that test's data.
    for alias in settings.CACHES:
        caches[alias].clear()
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


def logged_in(client, role):
    """The test client logged in as a new member of `role` (a factory name in backoffice.tests.factories)."""
    from backoffice.tests import factories

    client.force_login(getattr(factories, role)())
    return client


@pytest.fixture
def as_admin(client, db):
    """Logged in as a member of the Admins role (pytest-django's admin_client is a superuser)."""
    return logged_in(client, "admin")


@pytest.fixture
def as_marketer(client, db):
    return logged_in(client, "marketer")


@pytest.fixture
def as_moderator(client, db):
    return logged_in(client, "moderator")


DEMO_MEMBERS = 80  # the real demo has 300; 80 show the same shapes in a quarter of the time


@pytest.fixture(scope="module")
def demo_data(django_db_setup, django_db_blocker):
    """The demo (`load_demo_data`) loaded once for a whole test module, whose tests read it.

    Loading it takes half a minute; a test module asks for it once, not once per test. The load runs in a
    transaction held open until the module ends and then rolled back: each test's own transaction is a savepoint
    inside it, so no test sees another's writes and the next module starts from the empty database. (Callbacks
    queued for after the commit, such as emails, never run: the demo's data is all in the database.)"""
    with pytest.MonkeyPatch.context() as patch:  # a test that loads the demo again loads the same demo
        patch.setattr("backoffice.demo.MEMBER_COUNT", DEMO_MEMBERS)
        with django_db_blocker.unblock():
            held = transaction.atomic()
            held.__enter__()
        try:
            with django_db_blocker.unblock():
                call_command("load_demo_data", verbosity=0)
            yield
        finally:
            with django_db_blocker.unblock():
                transaction.set_rollback(True)
                held.__exit__(None, None, None)


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """committed(write): run the write's after-commit callbacks (cache version bumps, queued emails) as a real
    commit would, though the test runs inside a transaction; returns the write's result."""

    def run(write):
        with django_capture_on_commit_callbacks(execute=True):
            return write()

    return run


@pytest.fixture
def smtp(settings):
    """smtp(port): send email through real SMTP to a local port chosen by the test, with a 1 s timeout."""
    settings.EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_TIMEOUT = "127.0.0.1", 1

    def point_at(port):
        settings.EMAIL_PORT = port

    return point_at
