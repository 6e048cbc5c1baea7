"""A long job's progress (backoffice.jobs.report_progress) is on its TaskRun, readable by others while it runs."""

import threading

import pytest
from django.db import connection, transaction

from backoffice import jobs
from backoffice.models import TaskRun

pytestmark = pytest.mark.django_db


def test_progress_is_written_on_the_running_jobs_row():
    run = TaskRun.objects.create(task_name="x")
    writer = jobs._ProgressWriter(run)
    writer.report(3, 10)
    run.refresh_from_db()
    assert (run.progress_done, run.progress_total) == (3, 10)


def test_progress_writes_are_spaced_out_but_the_last_one_always_lands():
    run = TaskRun.objects.create(task_name="x")
    writer = jobs._ProgressWriter(run)
    writer.report(1, 10)
    writer.report(2, 10)  # within min_seconds of the last write: skipped
    run.refresh_from_db()
    assert run.progress_done == 1
    writer.report(10, 10)
    run.refresh_from_db()
    assert run.progress_done == 10


@pytest.mark.django_db(transaction=True)
def test_progress_inside_the_jobs_transaction_is_seen_before_it_commits(on_postgres):
    run = TaskRun.objects.create(task_name="x")
    writer = jobs._ProgressWriter(run)
    seen = []

    def watch():
        seen.append(TaskRun.objects.values_list("progress_done", "progress_total").get(pk=run.pk))
        connection.close()

    try:
        with transaction.atomic():
            writer.report(40, 100)
            watcher = threading.Thread(target=watch)
            watcher.start()
            watcher.join()
            raise RuntimeError("the job's work rolls back")
    except RuntimeError:
        pass
    finally:
        writer.close()
    run.refresh_from_db()
    assert seen == [(40, 100)]
    assert (run.progress_done, run.progress_total) == (40, 100)  # a rolled-back job still shows how far it got
