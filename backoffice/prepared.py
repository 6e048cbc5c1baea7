"""Session-level prepared statements for the hottest raw SQL (the redeem path, approvals): parsed and planned once
per database session instead of on every call.

Django's psycopg cursors bind parameters client-side and send plain strings, so PostgreSQL parses and plans every
statement again; for the redeem path's read and insert that was about 0.5 ms of PostgreSQL's CPU per redemption,
more than executing them. A `Prepared` statement is sent as `EXECUTE name(literals)` (still bound client-side, still
one string, so several statements and a COMMIT can share a round trip); the first use on a session prepares it.

Prepared statements outlive transactions (a rollback keeps them) and live as long as the session. This process
remembers which ones each session (psycopg connection) holds, asking `pg_prepared_statements` on first use. When the
session differs from what the process remembers (DEALLOCATE ALL, DISCARD ALL, or PgBouncer in transaction mode
handing the transaction another server session), the statement fails with `StatementsLost`: the transaction is
aborted, and the caller's `redo_if_statements_lost` runs it again, which asks the session first. Server sessions keep
what they prepared, so behind a pooler this stops once each has them.

A string that is the first of its transaction also opens it (see `_begin_here`): psycopg would otherwise send BEGIN as
a round trip of its own before it, one of the three a redemption used to wait for. Likewise a transaction's last
statement may carry its COMMIT (`commit_travels_with`, `commit_with_next_statement`).
"""

import functools
import re
import weakref
from contextlib import contextmanager
from typing import NamedTuple

from django.db import DatabaseError, connection
from django.db.transaction import TransactionManagementError
from psycopg import IsolationLevel
from psycopg.pq import TransactionStatus

PLACEHOLDER = re.compile(r"%\((\w+)\)s")
# The session does not hold what this process thought: a statement missing (26000, invalid_sql_statement_name) or
# already there (42P05, duplicate_prepared_statement).
SESSION_DIFFERS_SQLSTATES = {"26000", "42P05"}


class StatementsLost(Exception):
    """The session's prepared statements were not what this process thought; the transaction is aborted (nothing
    written). Redone, the statement is prepared again (`redo_if_statements_lost`)."""


class Prepared(NamedTuple):
    """One statement as a session-level prepared statement: its PREPARE, and the EXECUTE that runs it with its
    named parameters (bound client-side, as every statement of Django's cursors)."""

    name: str
    prepare: str
    execute: str


def prepared(name, sql, types):
    """`sql` (named parameters, `%(x)s`) as the prepared statement `name`; `types` maps each parameter to its SQL type
    (the PREPARE declares them: an INSERT ... SELECT or a CASE cannot infer them)."""
    params = list(dict.fromkeys(PLACEHOLDER.findall(sql)))
    body = PLACEHOLDER.sub(lambda match: f"${params.index(match.group(1)) + 1}", sql)
    return Prepared(
        name,
        f"PREPARE {name}({', '.join(types[p] for p in params)}) AS {body}",
        f"EXECUTE {name}({', '.join(f'%({p})s' for p in params)})",
    )


# Which statements each session (a psycopg connection) holds; dropped, and asked again, when a failed string
# included PREPAREs (which of them ran is unknown) or showed the session differs.
_PREPARED_IN = weakref.WeakKeyDictionary()


def run(cursor, statements, params, *, then=""):
    """Run `statements` (Prepared) in one string (one round trip), followed by `then` (e.g. "COMMIT"), preparing
    first those the session lacks; the cursor is left on the first statement's rows (`nextset()` moves on)."""
    session = connection.connection
    known = _PREPARED_IN.get(session)
    if known is None:
        cursor.execute("SELECT name FROM pg_prepared_statements")
        known = _PREPARED_IN[session] = {row[0] for row in cursor.fetchall()}
    missing = [statement.prepare for statement in statements if statement.name not in known]
    begin = [_begin_here(session)] if _transaction_not_begun(session) else []
    sql = ";\n".join([*begin, *missing, *(statement.execute for statement in statements), *([then] if then else [])])
    try:
        cursor.execute(sql, params)
    except DatabaseError as error:
        differs = getattr(error.__cause__, "sqlstate", None) in SESSION_DIFFERS_SQLSTATES
        if missing or differs:  # ask the session on its next use; a statement failing on its own changes nothing
            _PREPARED_IN.pop(session, None)
        if differs:
            raise StatementsLost() from error
        raise
    known.update(statement.name for statement in statements)
    for _ in [*begin, *missing]:
        cursor.nextset()


def _transaction_not_begun(session):
    """Whether Django's atomic block asked for a transaction that psycopg has not begun yet: it would send BEGIN, on
    its own, before the next statement. (Not when Django's autocommit was off before the block: the block's exit
    would then not turn autocommit back on.)"""
    return (
        connection.in_atomic_block
        and connection.commit_on_exit
        and not session.autocommit
        and session.pgconn.transaction_status == TransactionStatus.IDLE
    )


def _begin_here(session):
    """Open the transaction in the string about to run, as psycopg would have (its BEGIN, with the session's isolation
    level), and switch psycopg to autocommit, so it sends no BEGIN of its own. The rest of the atomic block runs in
    that transaction as before: psycopg sends COMMIT or ROLLBACK whenever the server is in a transaction, whatever
    its autocommit, and the block's exit turns autocommit back on (Django's `set_autocommit(True)`)."""
    session.autocommit = True
    begin = ["BEGIN"]
    if session.isolation_level is not None:
        begin.append(f"ISOLATION LEVEL {IsolationLevel(session.isolation_level).name.replace('_', ' ')}")
    if session.read_only is not None:
        begin.append("READ ONLY" if session.read_only else "READ WRITE")
    if session.deferrable is not None:
        begin.append("DEFERRABLE" if session.deferrable else "NOT DEFERRABLE")
    return " ".join(begin)


def redo_if_statements_lost(function):
    """Run `function` (a service whose transaction runs prepared statements) once more when they were lost; its
    transaction was rolled back, so the second run starts from nothing written."""

    @functools.wraps(function)
    def redone(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except StatementsLost:
            return function(*args, **kwargs)

    return redone


def commit_travels_with():
    """Whether the statement about to run may carry the COMMIT of the transaction it runs in: the connection is in
    exactly one atomic block (no caller's transaction around it, no savepoint) that is not marked for rollback. The
    block's own COMMIT then finds the transaction over and sends nothing (psycopg sends COMMIT only while the server
    is in a transaction); its on_commit callbacks run as usual."""
    return (
        connection.vendor == "postgresql"
        and len(connection.atomic_blocks) == 1
        and not connection.savepoint_ids
        and connection.commit_on_exit
        and not connection.needs_rollback
    )


@contextmanager
def commit_with_next_statement():
    """The next statement run in the block is its transaction's last: when `commit_travels_with`, it carries the
    COMMIT (one round trip fewer). A statement that fails commits nothing (the COMMIT after it does not run); a
    statement after it in the block fails instead of running outside the transaction. Wrap only the last write of a
    service whose atomic block does nothing else after it."""
    if not commit_travels_with():
        yield
        return
    carried = False

    def carry_commit(execute, sql, params, many, context):
        nonlocal carried
        if carried:
            raise TransactionManagementError("A statement ran after the one that carried its transaction's COMMIT.")
        carried = True
        if many:
            raise TransactionManagementError("An executemany cannot carry its transaction's COMMIT.")
        return execute(f"{sql};\nCOMMIT", params, many, context)

    with connection.execute_wrapper(carry_commit):
        yield
