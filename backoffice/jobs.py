"""The one way to write a background job: a Celery task that records each attempt as a TaskRun row.

    @recorded_task(name="reporting.tasks.rollup_daily")
    def rollup_daily(day=None):
        return services.rollup_day(...)   # the number of rows touched (an int, a list or a dict with "rows")

Any exception is recorded with its traceback; it is retried (after 1, 2, 4... times `backoff_seconds`) unless
it is a PermanentJobError (or one of the task's `permanent` exceptions) or the retries are used up.

A long job tells how far it is with `report_progress(done, total)` (the run's progress_done/progress_total, read
by progress bars); `queue_job` starts a job for someone and returns its TaskRun at once, so a page can follow it.
"""

import contextvars
import datetime
import functools
import logging
import time
import traceback
import uuid
from urllib.parse import quote

from celery import shared_task
from django.db import DatabaseError, connection, connections
from django.utils import timezone

from .alerts import alert_staff_or_log
from .models import TaskRun

logger = logging.getLogger(__name__)

DEFAULT_MAX_RETRIES = 3
DEFAULT_BACKOFF_SECONDS = 60
MAX_BACKOFF_SECONDS = 3600
TASK_RUNS_URL = "/admin/task_runs/"  # the runs listing of the Schedules menu


class PermanentJobError(Exception):
    """A failure that retrying cannot fix (bad arguments, a malformed file): the run fails at once."""


class JobNotQueued(Exception):
    """The job could not be handed to a worker (broker down); its TaskRun is marked failed and nothing ran."""

    def __init__(self, run, error):
        super().__init__(f"{run.task_name} could not be queued: {error}")
        self.run = run


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
    alert_staff_or_log(
        kind="job_failed",
        subject=f"Job {run.task_name} failed",
        body=f"Attempt {run.attempt} at {run.started_at:%Y-%m-%d %H:%M %Z} failed:\n\n{error[-2000:]}",
        url=f"{TASK_RUNS_URL}?status=failed&task_name={quote(run.task_name)}",
    )


# The run the current job body belongs to, for report_progress.
_progress = contextvars.ContextVar("job_progress", default=None)


class _ProgressWriter:
    """Writes a run's progress so that other requests see it while the job runs.

    A job usually does its work in a transaction (all rows or none); progress written on that connection would
    only show at commit, and vanish on rollback. So inside a transaction the progress goes through a connection
    of its own (autocommit) on PostgreSQL; SQLite allows one writer, so there it waits for the transaction's end.
    Writes are at most one per PROGRESS_MIN_SECONDS, except the last (done == total).
    """

    min_seconds = 0.5

    def __init__(self, run):
        self.run_id, self.last_written, self.side_connection = run.pk, 0.0, None
        # Transactions already open when the job started (a test's) are not the job's own.
        self.outer_depth = len(connection.atomic_blocks)

    def report(self, done, total):
        now = time.monotonic()
        if done < total and now - self.last_written < self.min_seconds:
            return
        done, total = max(int(done), 0), max(int(total), 0)
        if len(connection.atomic_blocks) <= self.outer_depth:
            TaskRun.objects.filter(pk=self.run_id).update(progress_done=done, progress_total=total)
        elif connection.vendor == "postgresql":
            if self.side_connection is None:
                self.side_connection = connections.create_connection(connection.alias)
            with self.side_connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {TaskRun._meta.db_table} SET progress_done = %s, progress_total = %s WHERE id = %s",
                    [done, total, self.run_id],
                )
        else:
            return
        self.last_written = now

    def close(self):
        if self.side_connection is not None:
            self.side_connection.close()


def report_progress(done, total):
    """Record how far the running job is (e.g. rows checked of rows in the file). Outside a job: does nothing.
    Never fails the job: progress is only for people watching."""
    writer = _progress.get()
    if writer is None:
        return
    try:
        writer.report(done, total)
    except DatabaseError:
        logger.warning("could not record the progress of run %s", writer.run_id, exc_info=True)


def _run_once(job, retries, backoff_seconds, task_id, args, kwargs):
    """One recorded attempt. Raises _RetryLater when the failure should be retried after a delay."""
    run = _start(job, task_id, retries + 1)
    writer = _ProgressWriter(run)
    token = _progress.set(writer)
    try:
        return _attempt(job, run, retries, backoff_seconds, args, kwargs)
    finally:
        _progress.reset(token)
        writer.close()


def _attempt(job, run, retries, backoff_seconds, args, kwargs):
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


def queue_job(*, task_name, args=(), kwargs=None, requested_by=None):
    """Queue one run of a recorded task now; returns its TaskRun (status queued, or already finished when Celery
    runs tasks inline). The row is created first, so a page can show the run at once; the worker fills it in.

    Raises JobNotQueued when the broker cannot take it (the row then says so); PermanentJobError for a task name
    that is not a recorded task of this code base. With eager Celery the run happens here, and its failure is in
    the row, not raised.
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
        logger.warning("queueing %s: %s", task_name, exc)
        if TaskRun.objects.filter(pk=run.pk, status=TaskRun.Status.QUEUED).exists():
            # Never reached a worker (broker down): say so in the row.
            _finish(run, TaskRun.Status.FAILED, error=f"Could not be queued: {type(exc).__name__}: {exc}")
            raise JobNotQueued(run, f"{type(exc).__name__}: {exc}") from exc
    run.refresh_from_db()
    return run


def run_now(*, task_name, args=(), kwargs=None, requested_by=None):
    """Queue one run of a recorded task outside its schedule ("Run now"); returns its TaskRun (status queued).

    Like queue_job, but a broker that is down is not raised: the returned row says "Could not be queued".
    """
    try:
        return queue_job(task_name=task_name, args=args, kwargs=kwargs, requested_by=requested_by)
    except JobNotQueued as not_queued:
        return not_queued.run


def prune_older_than(rows, *, field, days, now=None):
    """The one retention rule of the scheduled pruning jobs: delete the `rows` whose `field` is more than `days`
    days before `now`; returns how many (the job's recorded row count)."""
    cutoff = (now or timezone.now()) - datetime.timedelta(days=days)
    deleted, _ = rows.filter(**{f"{field}__lt": cutoff}).delete()
    return deleted
