"""The one way to write a background job: a Celery task that records each attempt as a TaskRun row.

    @recorded_task(name="reporting.tasks.rollup_daily")
    def rollup_daily(day=None):
        return services.rollup_day(...)   # the number of rows touched (an int, a list or a dict with "rows")

Any exception is recorded with its traceback; it is retried (after 1, 2, 4... times `backoff_seconds`) unless
it is a PermanentJobError (or one of the task's `permanent` exceptions) or the retries are used up.
"""

import functools
import logging
import traceback
import uuid
from urllib.parse import quote

from celery import shared_task
from django.utils import timezone

from .alerts import alert_staff
from .models import TaskRun

logger = logging.getLogger(__name__)

DEFAULT_MAX_RETRIES = 3
DEFAULT_BACKOFF_SECONDS = 60
MAX_BACKOFF_SECONDS = 3600
TASK_RUNS_URL = "/admin/task_runs/"  # the runs listing of the Schedules menu


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


def _start(job, task_id, attempt):
    """The run's row: the one "Run now" queued under this task id, or a new one."""
    if task_id and attempt == 1:
        run = TaskRun.objects.filter(task_id=task_id, task_name=job.name, status=TaskRun.Status.QUEUED).first()
        if run is not None:
            run.status, run.started_at = TaskRun.Status.RUNNING, timezone.now()
            run.save(update_fields=["status", "started_at"])
            return run
    return TaskRun.objects.create(task_name=job.name, task_id=task_id or "", attempt=attempt)


def _failed(run, error):
    """Record the final failure and tell the Admins (one alert per job and hour: see alerts.alert_staff)."""
    _finish(run, TaskRun.Status.FAILED, error=error)
    try:
        alert_staff(
            kind="job_failed",
            subject=f"Job {run.task_name} failed",
            body=f"Attempt {run.attempt} at {run.started_at:%Y-%m-%d %H:%M %Z} failed:\n\n{error[-2000:]}",
            url=f"{TASK_RUNS_URL}?status=failed&task_name={quote(run.task_name)}",
        )
    except Exception:
        logger.exception("could not alert staff about the failed run %s", run.pk)


def _run_once(job, retries, backoff_seconds, task_id, args, kwargs):
    """One recorded attempt. Raises _RetryLater when the failure should be retried after a delay."""
    run = _start(job, task_id, retries + 1)
    try:
        result = job.body(*args, **kwargs)
    except (PermanentJobError, *job.permanent) as exc:
        _failed(run, f"{type(exc).__name__}: {exc}")
        raise
    except Exception as exc:
        error = "".join(traceback.format_exception(exc)).strip()
        if retries >= job.max_retries:
            _failed(run, error)
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


def run_now(*, task_name, args=(), kwargs=None, requested_by=None):
    """Queue one run of a recorded task outside its schedule ("Run now"); returns its TaskRun (status queued).

    The row is created first, so the run shows in the runs list at once; the worker fills it in. With eager
    Celery the run happens here, and its failure is in the row, not raised. Raises PermanentJobError for a
    task name that is not a recorded task of this code base.
    """
    from celery import current_app

    current_app.loader.import_default_modules()
    task = current_app.tasks.get(task_name)
    if task is None or not is_recorded_task(task):
        raise PermanentJobError(f"{task_name!r} is not a job of this code base.")
    run = TaskRun.objects.create(
        task_name=task_name, task_id=str(uuid.uuid4()), status=TaskRun.Status.QUEUED, requested_by=requested_by
    )
    try:
        task.apply_async(args=list(args), kwargs=kwargs or {}, task_id=run.task_id)
    except Exception as exc:
        if TaskRun.objects.filter(pk=run.pk, status=TaskRun.Status.QUEUED).exists():
            # Never reached a worker (broker down): say so in the row.
            _finish(run, TaskRun.Status.FAILED, error=f"Could not be queued: {type(exc).__name__}: {exc}")
        logger.warning("run now of %s: %s", task_name, exc)
    run.refresh_from_db()
    return run
