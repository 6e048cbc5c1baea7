"""Session-level prepared statements (backoffice.prepared): prepared once per session, redone when the session lost
them."""

import pytest
from django.db import DataError, connection
from django.test.utils import CaptureQueriesContext

from backoffice import prepared

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
