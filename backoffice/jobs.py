"""The one way to write a background job: a Celery task that records each attempt as a TaskRun row.

    @recorded_task(name="reporting.tasks.rollup_daily")
    def rollup_daily(day=None):
        return services.rollup_day(...)   # the number of rows touched (an int, a list or a dict with "rows")

Any exception is recorded with its traceback; it is retried (after 1, 2, 4... times `backoff_seconds`) unless
it is a PermanentJobError (or one of the task's `permanent` exceptions) or the retries are used up.
"""

import functools
import traceback

from celery import shared_task
from django.utils import timezone

from .models import TaskRun

DEFAULT_MAX_RETRIES = 3
DEFAULT_BACKOFF_SECONDS = 60
MAX_BACKOFF_SECONDS = 3600


class PermanentJobError(Exception):
    """A failure that retrying cannot fix (bad arguments, a malformed file): the run fails at once."""


def retry_delay(retries_so_far, base=DEFAULT_BACKOFF_SECONDS):
    """Seconds to wait before the next attempt: base, 2*base, 4*base..., at most an hour."""
    return min(base * 2**retries_so_far, MAX_BACKOFF_SECONDS)


def rows_of(result):
    """How many rows a job body touched, from what it returned: a count, a list of items, or {"rows": n}."""
    if isinstance(result, bool) or result is None:
        return 0
    if isinstance(result, int):
        return max(result, 0)
    if isinstance(result, list | tuple | set):
        return len(result)
    if isinstance(result, dict) and isinstance(result.get("rows"), int):
        return max(result["rows"], 0)
    return 0


def _finish(run, status, *, rows=0, error=""):
    run.status, run.rows, run.error, run.finished_at = status, rows, error, timezone.now()
    run.save(update_fields=["status", "rows", "error", "finished_at"])


class _RetryLater(Exception):
    def __init__(self, exc, delay):
        super().__init__(str(exc))
        self.exc, self.delay = exc, delay


def _run_once(job, retries, backoff_seconds, task_id, args, kwargs):
    """One recorded attempt. Raises _RetryLater when the failure should be retried after a delay."""
    run = TaskRun.objects.create(task_name=job.name, task_id=task_id or "", attempt=retries + 1)
    try:
        result = job.body(*args, **kwargs)
    except (PermanentJobError, *job.permanent) as exc:
        _finish(run, TaskRun.Status.FAILED, error=f"{type(exc).__name__}: {exc}")
        raise
    except Exception as exc:
        error = "".join(traceback.format_exception(exc)).strip()
        if retries >= job.max_retries:
            _finish(run, TaskRun.Status.FAILED, error=error)
            raise
        delay = retry_delay(retries, backoff_seconds)
        _finish(run, TaskRun.Status.RETRYING, error=f"{error}\n\nRetrying in {delay} s.")
        raise _RetryLater(exc, delay) from exc
    _finish(run, TaskRun.Status.SUCCEEDED, rows=rows_of(result))
    return result


class _Job:
    def __init__(self, name, body, max_retries, backoff_seconds, permanent):
        self.name, self.body, self.max_retries = name, body, max_retries
        self.backoff_seconds, self.permanent = backoff_seconds, tuple(permanent)


def recorded_task(
    *, name, max_retries=DEFAULT_MAX_RETRIES, backoff_seconds=DEFAULT_BACKOFF_SECONDS, permanent=(), **task_options
):
    """Make `body` a Celery task named `name` whose every attempt is a TaskRun row.

    `permanent`: exception classes that fail the run at once, like PermanentJobError. Other keyword arguments
    go to Celery's `shared_task` (e.g. `time_limit`).
    """

    def decorator(body):
        job = _Job(name, body, max_retries, backoff_seconds, permanent)

        @functools.wraps(body)
        def run_recorded(self, *args, **kwargs):
            request = self.request
            if request.is_eager or request.called_directly:
                # No worker to re-queue on (tests, `make run`): retry in-process, without waiting.
                for retries in range(job.max_retries + 1):
                    try:
                        return _run_once(job, retries, 0, request.id, args, kwargs)
                    except _RetryLater:
                        continue
            try:
                return _run_once(job, request.retries, job.backoff_seconds, request.id, args, kwargs)
            except _RetryLater as later:
                raise self.retry(exc=later.exc, countdown=later.delay) from later.exc

        run_recorded.recorded_job = job
        return shared_task(bind=True, name=name, max_retries=max_retries, **task_options)(run_recorded)

    return decorator


def is_recorded_task(task):
    """True for tasks made by `recorded_task` (a test checks every scheduled task is one)."""
    return isinstance(getattr(task.run, "recorded_job", None), _Job)
