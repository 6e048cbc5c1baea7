"""Running the same call from many threads at once, for the PostgreSQL concurrency tests."""

import threading
import time

from django.db import connection


def run_in_threads(count, target):
    """Call target(n) for n in range(count), all released together; return (results, errors).

    Each thread has its own database connection, closed when it finishes so none outlives the test.
    """
    barrier = threading.Barrier(count)
    results, errors = [], []

    def worker(n):
        try:
            barrier.wait()
            results.append(target(n))
        except Exception as exc:  # collected and asserted on by the caller
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors


def wait_until_a_session_waits_for_a_lock(timeout=10):
    """Inside a transaction holding row locks: return once another session of this database waits for a lock.

    Lets a race test hold its transaction open exactly until the competing request has read the row and is blocked
    writing it, so the interleaving under test happens every run instead of by chance (PostgreSQL only).
    """
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # else one snapshot serves the whole transaction
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("no other session waited for a lock")
