"""What the PostgreSQL connection really sent: libpq's protocol trace, for tests that count round trips.

Django's query log shows the strings Django's cursors ran, not what psycopg sends on its own (its BEGIN before a
transaction's first statement, COMMIT, ROLLBACK); the trace shows every message, so one round trip is one query the
client sent and waited for (`ReadyForQuery` ends each).
"""

import re
import tempfile
from contextlib import contextmanager

from django.db import connection
from psycopg import pq


class Wire:
    """The queries sent while tracing, in order; each was one round trip."""

    def __init__(self):
        self.queries = []

    @property
    def round_trips(self):
        return len(self.queries)


@contextmanager
def traced():
    """Trace the default connection's session (opened if need be) while the block runs; yields a `Wire`, filled when
    the block ends."""
    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    wire = Wire()
    with tempfile.TemporaryFile("w+") as trace:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            yield wire
        finally:
            pgconn.untrace()
            trace.seek(0)
            wire.queries = _queries(trace.read())


def _queries(trace):
    """The SQL of each `Query` message the client sent: a message is `F|B <length> <type> <fields>` and runs on to the
    next message's line (a query's own newlines are traced as they are)."""
    messages = re.split(r"^(?=[FB]\t\d+\t)", trace, flags=re.MULTILINE)
    return [
        message.split("\tQuery\t", 1)[1].strip()[1:-1]  # the SQL, between the quotes libpq adds
        for message in messages
        if message.startswith("F\t") and "\tQuery\t" in message
    ]
