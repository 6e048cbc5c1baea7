"""Celery tasks that record each run as a TaskRun row and retry failures with exponential back-off.

    @recorded_task(name="reporting.tasks.rollup_daily")
    def rollup_daily(day=None):
        return services.rollup_day(...)   # the number of rows touched

The body returns how many rows it touched. Any exception is recorded with its traceback; it is retried
(after 1, 2, 4... times `backoff_seconds`) unless it is a PermanentJobError or the retries are used up.
"""

import functools
import traceback

from celery import shared_task
from django.utils import timezone

from .models import TaskRun
from .services import PermanentJobError

DEFAULT_MAX_RETRIES = 3
DEFAULT_BACKOFF_SECONDS = 60
MAX_BACKOFF_SECONDS = 3600


def retry_delay(retries_so_far, base=DEFAULT_BACKOFF_SECONDS):
    """Seconds to wait before the next attempt: base, 2*base, 4*base..., at most an hour."""
    return min(base * 2**retries_so_far, MAX_BACKOFF_SECONDS)


def _finish(run, status, *, rows=0, error=""):
    run.status, run.rows, run.error, run.finished_at = status, rows, error, timezone.now()
    run.save(update_fields=["status", "rows", "error", "finished_at"])


class _RetryLater(Exception):
    def __init__(self, exc, delay):
        super().__init__(str(exc))
        self.exc, self.delay = exc, delay


def _run_once(name, body, task_id, retries, max_retries, backoff_seconds, args, kwargs):
    """One recorded attempt. Raises _RetryLater when the failure should be retried after a delay."""
    run = TaskRun.objects.create(task_name=name, task_id=task_id or "", attempt=retries + 1)
    try:
        rows = body(*args, **kwargs)
    except PermanentJobError as exc:
        _finish(run, TaskRun.Status.FAILED, error=str(exc))
        raise
    except Exception as exc:
        error = "".join(traceback.format_exception(exc)).strip()
        if retries >= max_retries:
            _finish(run, TaskRun.Status.FAILED, error=error)
            raise
        delay = retry_delay(retries, backoff_seconds)
        _finish(run, TaskRun.Status.RETRYING, error=f"{error}\n\nRetrying in {delay} s.")
        raise _RetryLater(exc, delay) from exc
    _finish(run, TaskRun.Status.SUCCEEDED, rows=rows or 0)
    return rows


def recorded_task(*, name, max_retries=DEFAULT_MAX_RETRIES, backoff_seconds=DEFAULT_BACKOFF_SECONDS):
    """Make `body` a Celery task named `name` whose every attempt is a TaskRun row."""

    def decorator(body):
        @shared_task(bind=True, name=name, max_retries=max_retries)
        @functools.wraps(body)
        def task(self, *args, **kwargs):
            request = self.request
            if request.is_eager or request.called_directly:
                # No worker to re-queue on (tests, `make run`): retry in-process, without waiting.
                for retries in range(self.max_retries + 1):
                    try:
                        return _run_once(name, body, request.id, retries, self.max_retries, 0, args, kwargs)
                    except _RetryLater:
                        continue
            try:
                return _run_once(
                    name, body, request.id, request.retries, self.max_retries, backoff_seconds, args, kwargs
                )
            except _RetryLater as later:
                raise self.retry(exc=later.exc, countdown=later.delay) from later.exc

        return task

    return decorator
