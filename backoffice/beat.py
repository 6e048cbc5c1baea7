"""Only one Celery beat sends the schedules, however many are started: a PostgreSQL advisory lock decides.

`CELERY_BEAT_SCHEDULER = "backoffice.beat:SingleBeatScheduler"`: django-celery-beat's DatabaseScheduler that
ticks only while it holds a session-level advisory lock, taken on a connection of its own (Django closes its
own connections between ticks, which would release it). A second beat waits as a standby, retrying every
BEAT_LOCK_RETRY_SECONDS, and takes over when the first one stops or loses its database connection; it then
re-reads the schedules (the leader saves each run to the database as it sends it, so nothing is sent twice).

On a database without advisory locks (SQLite, the embedded default: one machine, one beat) it runs unlocked.
"""

import contextlib
import logging

from django.conf import settings
from django.db import DatabaseError, connections
from django_celery_beat.schedulers import DatabaseScheduler

logger = logging.getLogger(__name__)

# pg_try_advisory_lock key: any constant the project's other locks do not use ("beat" in ASCII).
BEAT_LOCK_KEY = 0x62656174


class SingleBeatScheduler(DatabaseScheduler):
    _lock_connection = None
    _standing_by = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Save each run as it is sent: a standby taking over reads up-to-date "last run" times.
        self.sync_every_tasks = 1

    def tick(self, *args, **kwargs):
        if not self.holds_lock():
            return settings.BEAT_LOCK_RETRY_SECONDS
        return super().tick(*args, **kwargs)

    def holds_lock(self):
        """True while this beat holds the lock (checked on every tick: a lost connection is a lost lock)."""
        if connections["default"].vendor != "postgresql":
            return True
        if self._lock_connection is not None:
            try:
                with self._lock_connection.cursor() as cursor:
                    cursor.execute("SELECT 1")
                return True
            except DatabaseError:
                logger.warning("beat lost its lock connection; trying to take the lock again")
                self._release()
        return self._acquire()

    def _acquire(self):
        wrapper = connections.create_connection("default")
        try:
            with wrapper.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [BEAT_LOCK_KEY])
                acquired = cursor.fetchone()[0]
        except DatabaseError:
            logger.exception("beat could not reach the database to take its lock")
            wrapper.close()
            return False
        if not acquired:
            wrapper.close()
            if not self._standing_by:
                logger.info("another beat holds the lock: this beat stands by")
                self._standing_by = True
            return False
        self._standing_by = False
        logger.info("beat took the lock: this beat now sends the schedules")
        self._lock_connection = wrapper
        # Whatever this process read before is stale: re-read every schedule and rebuild the heap.
        self._initial_read = True
        self._heap_invalidated = True
        self._heap = None
        return True

    def _release(self):
        if self._lock_connection is not None:
            with contextlib.suppress(DatabaseError):
                self._lock_connection.close()
            self._lock_connection = None

    def close(self):
        if self._lock_connection is not None:
            super().close()  # only the leader has runs to save
        self._release()
