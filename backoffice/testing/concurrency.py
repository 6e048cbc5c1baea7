"""Running the same call from many threads at once, for the PostgreSQL concurrency tests."""

import threading

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
