"""Session-level prepared statements (backoffice.prepared): prepared once per session, redone when the session lost
them."""

import pytest
from django.contrib.auth import get_user_model
from django.db import DataError, connection, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext
from psycopg import IsolationLevel

from backoffice import prepared
from backoffice.testing import wire
from backoffice.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

DOUBLE = prepared.prepared(
    "backoffice_test_double", "SELECT %(n)s * 2, %(label)s, %(n)s", {"n": "int", "label": "text"}
)


def double(n, label="x"):
    with connection.cursor() as cursor:
        prepared.run(cursor, [DOUBLE], {"n": n, "label": label})
        return cursor.fetchone()


def test_a_statement_is_prepared_with_numbered_typed_parameters_and_executed_by_name():
    assert DOUBLE.prepare == "PREPARE backoffice_test_double(int, text) AS SELECT $1 * 2, $2, $1"
    assert DOUBLE.execute == "EXECUTE backoffice_test_double(%(n)s, %(label)s)"


def test_a_session_prepares_a_statement_once_and_then_only_executes_it(on_postgres):
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    prepared._PREPARED_IN.pop(connection.connection, None)  # a session this process has not used yet
    with CaptureQueriesContext(connection) as first:
        assert double(21, "first") == (42, "first", 21)
    with CaptureQueriesContext(connection) as second:
        assert double(5) == (10, "x", 5)
    asked, prepared_and_executed = (q["sql"] for q in first.captured_queries)
    assert "pg_prepared_statements" in asked
    assert prepared_and_executed == f"{DOUBLE.prepare};\nEXECUTE backoffice_test_double(21, 'first')"
    assert [q["sql"] for q in second.captured_queries] == ["EXECUTE backoffice_test_double(5, 'x')"]


def test_a_session_that_dropped_its_statements_fails_with_statements_lost_then_prepares_again(on_postgres):
    double(1)
    with connection.cursor() as cursor:
        cursor.execute("SAVEPOINT before")
        cursor.execute("DEALLOCATE ALL")
    with pytest.raises(prepared.StatementsLost), connection.cursor() as cursor:
        prepared.run(cursor, [DOUBLE], {"n": 2, "label": "x"})
    with connection.cursor() as cursor:
        cursor.execute("ROLLBACK TO SAVEPOINT before")
    assert double(3) == (6, "x", 3)  # the session was asked again: prepared anew


def test_a_statement_failing_on_its_own_keeps_what_the_session_holds(on_postgres):
    double(1)
    with connection.cursor() as cursor:
        cursor.execute("SAVEPOINT before")
    with pytest.raises(DataError), connection.cursor() as cursor:
        prepared.run(cursor, [DOUBLE], {"n": 2**31 - 1, "label": "x"})  # integer out of range: the statement's own
    with connection.cursor() as cursor:
        cursor.execute("ROLLBACK TO SAVEPOINT before")
    with CaptureQueriesContext(connection) as after:
        assert double(3) == (6, "x", 3)
    assert [q["sql"] for q in after.captured_queries] == ["EXECUTE backoffice_test_double(3, 'x')"]


def test_a_lost_statement_redoes_the_service_once():
    calls = []

    @prepared.redo_if_statements_lost
    def service():
        calls.append(1)
        if len(calls) == 1:
            raise prepared.StatementsLost()
        return "done"

    assert (service(), len(calls)) == ("done", 2)


def test_statements_lost_twice_in_a_row_is_not_redone_forever():
    calls = []

    @prepared.redo_if_statements_lost
    def service():
        calls.append(1)
        raise prepared.StatementsLost()

    with pytest.raises(prepared.StatementsLost):
        service()
    assert len(calls) == 2


class Failed(Exception):
    pass


@pytest.mark.django_db(transaction=True)
def test_the_first_string_of_a_transaction_opens_it_in_the_same_round_trip(on_postgres):
    double(1)  # the session has the statement
    with wire.traced() as sent, transaction.atomic():
        assert double(2) == (4, "x", 2)
        assert double(3) == (6, "x", 3)
    assert sent.queries == [
        "BEGIN;\nEXECUTE backoffice_test_double(2, 'x')",
        "EXECUTE backoffice_test_double(3, 'x')",
        "COMMIT",
    ]


@pytest.mark.django_db(transaction=True)
def test_a_transaction_opened_by_its_first_string_commits_everything_in_it(on_postgres):
    double(1)
    with transaction.atomic():
        double(2)
        UserFactory(email="written@example.test")
    assert get_user_model().objects.filter(email="written@example.test").exists()


@pytest.mark.django_db(transaction=True)
def test_a_transaction_opened_by_its_first_string_rolls_back_everything_in_it(on_postgres):
    double(1)
    with pytest.raises(Failed), transaction.atomic():
        double(2)
        UserFactory(email="rolled-back@example.test")
        raise Failed
    assert not get_user_model().objects.filter(email="rolled-back@example.test").exists()


@pytest.mark.django_db(transaction=True)
def test_after_a_transaction_opened_by_its_first_string_the_next_one_begins_as_usual(on_postgres):
    double(1)
    with transaction.atomic():
        double(2)
    assert connection.get_autocommit() and connection.connection.autocommit
    with wire.traced() as sent, transaction.atomic():
        UserFactory(email="next@example.test")
    assert sent.queries[0] == "BEGIN" and sent.queries[-1] == "COMMIT"


def test_a_string_inside_a_transaction_already_begun_does_not_begin_another(on_postgres):
    double(1)  # the test's transaction has begun
    with wire.traced() as sent, transaction.atomic():
        double(2)
    assert not any("BEGIN" in query for query in sent.queries)


@pytest.mark.django_db(transaction=True)
def test_outside_any_atomic_block_a_string_runs_on_its_own(on_postgres):
    double(1)
    with wire.traced() as sent:
        double(2)
    assert sent.queries == ["EXECUTE backoffice_test_double(2, 'x')"]


@pytest.mark.django_db(transaction=True)
def test_a_transaction_opened_by_its_first_string_keeps_the_sessions_isolation_level(on_postgres):
    double(1)
    connection.connection.isolation_level = IsolationLevel.REPEATABLE_READ  # DATABASES' OPTIONS["isolation_level"]
    try:
        with wire.traced() as sent, transaction.atomic(), connection.cursor() as cursor:
            double(2)
            cursor.execute("SELECT current_setting('transaction_isolation')")
            level = cursor.fetchone()[0]
    finally:
        connection.connection.isolation_level = None
    assert sent.queries[0].startswith("BEGIN ISOLATION LEVEL REPEATABLE READ;")
    assert level == "repeatable read"


@pytest.mark.django_db(transaction=True)
def test_the_last_statement_of_a_transaction_carries_its_commit(on_postgres):
    with wire.traced() as sent, transaction.atomic():
        UserFactory(email="first@example.test")
        with prepared.commit_with_next_statement():
            UserFactory(email="last@example.test")
    assert sent.queries[-1].startswith('INSERT INTO "backoffice_user"') and sent.queries[-1].endswith(";\nCOMMIT")
    assert get_user_model().objects.filter(email__in=["first@example.test", "last@example.test"]).count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_last_statement_that_fails_commits_nothing(on_postgres):
    with pytest.raises(DataError), transaction.atomic():
        UserFactory(email="before@example.test")
        with prepared.commit_with_next_statement(), connection.cursor() as cursor:
            cursor.execute("SELECT 1 / 0")
    assert not get_user_model().objects.filter(email="before@example.test").exists()


@pytest.mark.django_db(transaction=True)
def test_a_statement_after_the_one_that_carried_the_commit_fails_instead_of_running_outside_it(on_postgres):
    with pytest.raises(TransactionManagementError), transaction.atomic(), prepared.commit_with_next_statement():
        UserFactory(email="last@example.test")
        UserFactory(email="after@example.test")
    assert not get_user_model().objects.filter(email="after@example.test").exists()


def test_inside_a_callers_transaction_the_last_statement_does_not_commit_it(on_postgres):
    # inside the test's transaction
    with CaptureQueriesContext(connection) as queries, transaction.atomic(), prepared.commit_with_next_statement():
        UserFactory(email="inner@example.test")
    assert not any("COMMIT" in q["sql"] for q in queries.captured_queries)
