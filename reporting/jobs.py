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


def recorded_task(*, name, max_retries=DEFAULT_MAX_RETRIES, backoff_seconds=DEFAULT_BACKOFF_SECONDS):
    def decorator(body):
        @shared_task(bind=True, name=name, max_retries=max_retries)
        @functools.wraps(body)
        def task(self, *args, **kwargs):
            attempt = self.request.retries + 1
            run = TaskRun.objects.create(task_name=name, task_id=self.request.id or "", attempt=attempt)
            try:
                rows = body(*args, **kwargs)
            except PermanentJobError as exc:
                _finish(run, TaskRun.Status.FAILED, error=str(exc))
                raise
            except Exception as exc:
                error = "".join(traceback.format_exception(exc)).strip()
                if self.request.called_directly or self.request.retries >= self.max_retries:
                    _finish(run, TaskRun.Status.FAILED, error=error)
                    raise
                _finish(run, TaskRun.Status.RETRYING, error=error)
                raise self.retry(exc=exc, countdown=retry_delay(self.request.retries, backoff_seconds)) from exc
            _finish(run, TaskRun.Status.SUCCEEDED, rows=rows or 0)
            return rows

        return task

    return decorator
