"""Large product uploads: checked and imported by a recorded background job, with progress, a notification, and
the same all-or-nothing outcome as the inline path. Tasks run eagerly (settings/test.py); "queued but not yet
taken by a worker" is simulated by swapping the task's apply_async, as test_job_operations does."""

import pytest
from django.core import mail
from django.urls import reverse

from backoffice import jobs
from backoffice.celery import app
from backoffice.models import Notification, TaskRun
from backoffice.tests.factories import admin, moderator
from catalog import resources, services
from catalog.models import Product, ProductPriceChange, ProductUpload
from catalog.tests.factories import ProductFactory
from catalog.tests.test_product_upload import csv_file

pytestmark = pytest.mark.django_db

ROWS = "".join(f"main-store,SKU{n},Product {n},{n}.50,{n},yes\n" for n in range(1, 8))


@pytest.fixture(autouse=True)
def small_threshold(settings):
    settings.PRODUCT_UPLOAD_INLINE_MAX_BYTES = 64  # every file below but the tiniest runs in the background


@pytest.fixture
def not_taken(monkeypatch):
    """Queued tasks wait (no worker takes them) until the test runs them: run(name) plays the worker."""
    app.loader.import_default_modules()  # the apps' tasks modules, as a worker loads them
    queued = []
    for name in (services.CHECK_TASK, services.IMPORT_TASK):
        task = app.tasks[name]
        monkeypatch.setattr(task, "apply_async", lambda *a, _name=name, **k: queued.append((_name, k)))

    def run(name):
        for queued_name, options in list(queued):
            if queued_name == name:
                queued.remove((queued_name, options))
                app.tasks[name].apply(args=options["args"], task_id=options["task_id"])
                return
        raise AssertionError(f"{name} was not queued")

    run.queued = queued
    return run


def broker_down(monkeypatch):
    def refuse(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    app.loader.import_default_modules()
    for name in (services.CHECK_TASK, services.IMPORT_TASK):
        monkeypatch.setattr(app.tasks[name], "apply_async", refuse)


# State transitions


def test_a_file_under_the_threshold_is_previewed_in_the_request(store, staff, settings):
    settings.PRODUCT_UPLOAD_INLINE_MAX_BYTES = 10_000
    upload = services.start_product_upload(csv_file(ROWS), user=staff)
    assert (upload.status, upload.task_run, upload.created_rows) == ("previewed", None, 7)


def test_a_large_file_waits_as_checking_until_a_worker_takes_it(store, staff, not_taken):
    upload = services.start_product_upload(csv_file(ROWS), user=staff)

    assert upload.status == ProductUpload.Status.CHECKING
    assert upload.task_run.status == TaskRun.Status.QUEUED and upload.task_run.requested_by == staff
    assert [name for name, _ in not_taken.queued] == [services.CHECK_TASK]
    assert Product.objects.count() == 0


def test_the_background_check_previews_like_the_inline_one(store, staff, not_taken):
    ProductFactory(store=store, sku="SKU1", price="9.00")
    upload = services.start_product_upload(csv_file(ROWS), user=staff)
    not_taken(services.CHECK_TASK)

    upload.refresh_from_db()
    assert (upload.status, upload.total_rows, upload.created_rows, upload.updated_rows) == ("previewed", 7, 6, 1)
    assert upload.preview_rows[0] == {
        "row": 2,
        "action": "update",
        "store": "main-store",
        "sku": "SKU1",
        "name": "Product 1",
        "old_price": "9.00",
        "new_price": "1.50",
    }
    assert upload.task_run.status == TaskRun.Status.SUCCEEDED
    assert Product.objects.count() == 1 and ProductPriceChange.objects.count() == 0


def test_a_bad_large_file_fails_in_the_background_with_the_reason(store, staff):
    upload = services.start_product_upload(csv_file(ROWS, header="store,sku,title,price,stock,active\n"), user=staff)
    upload.refresh_from_db()
    assert upload.status == ProductUpload.Status.FAILED
    assert "Wrong columns" in upload.row_errors[0]["message"]


def test_confirming_a_large_upload_imports_in_the_background(store, staff, not_taken):
    upload = services.start_product_upload(csv_file(ROWS), user=staff)
    not_taken(services.CHECK_TASK)

    upload = services.start_product_import(ProductUpload.objects.get(pk=upload.pk), user=staff)
    assert upload.status == ProductUpload.Status.IMPORTING and Product.objects.count() == 0
    not_taken(services.IMPORT_TASK)

    upload.refresh_from_db()
    assert (upload.status, upload.created_rows) == ("imported", 7)
    assert Product.objects.count() == 7 and ProductPriceChange.objects.filter(source="upload").count() == 7
    assert upload.task_run.task_name == services.IMPORT_TASK and upload.task_run.status == TaskRun.Status.SUCCEEDED


# Progress


def test_progress_counts_the_rows_read_and_ends_at_the_total(store, staff, monkeypatch):
    monkeypatch.setattr(resources, "PROGRESS_EVERY_ROWS", 2)
    monkeypatch.setattr(jobs._ProgressWriter, "min_seconds", 0)
    reported = []
    original = jobs._ProgressWriter.report

    def spy(writer, done, total):
        reported.append((done, total))
        original(writer, done, total)

    monkeypatch.setattr(jobs._ProgressWriter, "report", spy)

    upload = services.start_product_upload(csv_file(ROWS), user=staff)

    assert reported == [(0, 7), (2, 7), (4, 7), (6, 7), (7, 7)]
    run = TaskRun.objects.get(pk=upload.task_run_id)
    assert (run.progress_done, run.progress_total) == (7, 7)


def test_the_status_says_waiting_then_counts_then_finished(store, staff, not_taken, admin_client):
    upload = services.start_product_upload(csv_file(ROWS), user=staff)
    url = reverse("product_uploads:status", args=[upload.pk])

    waiting = admin_client.get(url).json()
    assert waiting["finished"] is False and waiting["status"] == "checking" and "Waiting" in waiting["message"]

    TaskRun.objects.filter(pk=upload.task_run_id).update(status="running", progress_done=3, progress_total=7)
    counting = admin_client.get(url).json()
    assert (counting["done"], counting["total"], counting["message"]) == (3, 7, "Checked 3 of 7 rows…")

    TaskRun.objects.filter(pk=upload.task_run_id).update(status="queued")
    not_taken(services.CHECK_TASK)
    done = admin_client.get(url).json()
    assert done["finished"] is True and done["status"] == "previewed"


def test_report_progress_outside_a_job_does_nothing():
    jobs.report_progress(5, 10)  # no run to write to, no error
    assert not TaskRun.objects.exists()


# Notification


def test_the_uploader_alone_is_notified_in_app_and_by_email(store, staff, django_capture_on_commit_callbacks):
    other_admin = admin()
    with django_capture_on_commit_callbacks(execute=True):
        upload = services.start_product_upload(csv_file(ROWS), user=staff)

    notification = Notification.objects.get()
    assert notification.user == staff
    assert notification.subject == "Product upload products.csv: ready to confirm"
    assert reverse("product_uploads:inspect", args=[upload.pk]) in notification.body
    assert [message.to for message in mail.outbox] == [[staff.email]]
    assert not Notification.objects.filter(user=other_admin).exists()


def test_whoever_confirms_is_notified_of_the_import(store, staff, django_capture_on_commit_callbacks):
    upload = services.start_product_upload(csv_file(ROWS), user=staff)
    confirmer = admin()
    with django_capture_on_commit_callbacks(execute=True):
        services.start_product_import(upload, user=confirmer)

    assert Notification.objects.get(user=confirmer).subject == "Product upload products.csv: imported"
    assert "7 products created" in Notification.objects.get(user=confirmer).body


def test_two_uploads_of_the_same_name_each_notify(store, staff):
    services.start_product_upload(csv_file(ROWS), user=staff)
    services.start_product_upload(csv_file(ROWS), user=staff)
    assert Notification.objects.filter(user=staff).count() == 2  # per-user alerts are never folded


# Failure paths


def test_a_worker_raising_mid_import_writes_nothing_and_the_upload_shows_why(store, staff, not_taken, monkeypatch):
    upload = services.start_product_upload(csv_file(ROWS), user=staff)
    not_taken(services.CHECK_TASK)
    services.start_product_import(ProductUpload.objects.get(pk=upload.pk), user=staff)

    def crash(result):
        assert Product.objects.count() == 7  # the rows were written in the job's transaction...
        raise RuntimeError("worker lost its database")

    monkeypatch.setattr(services, "row_errors", crash)
    with pytest.raises(RuntimeError):
        not_taken(services.IMPORT_TASK)

    assert Product.objects.count() == 0 and ProductPriceChange.objects.count() == 0  # ...and rolled back
    upload.refresh_from_db()
    assert upload.status == ProductUpload.Status.FAILED
    assert "worker lost its database" in upload.row_errors[0]["message"]
    assert "Nothing was imported" in upload.row_errors[0]["message"]
    assert upload.task_run.status == TaskRun.Status.FAILED


def test_a_confirm_while_importing_is_refused_and_the_file_imports_once(store, staff, not_taken):
    upload = services.start_product_upload(csv_file(ROWS), user=staff)
    not_taken(services.CHECK_TASK)
    services.start_product_import(ProductUpload.objects.get(pk=upload.pk), user=staff)

    with pytest.raises(services.UploadNotConfirmable):
        services.start_product_import(ProductUpload.objects.get(pk=upload.pk), user=staff)
    assert [name for name, _ in not_taken.queued] == [services.IMPORT_TASK]
    not_taken(services.IMPORT_TASK)

    assert Product.objects.count() == 7 and ProductPriceChange.objects.count() == 7


def test_a_repeated_delivery_of_the_import_task_imports_once(store, staff, not_taken):
    upload = services.start_product_upload(csv_file(ROWS), user=staff)
    not_taken(services.CHECK_TASK)
    services.start_product_import(ProductUpload.objects.get(pk=upload.pk), user=staff)
    _, options = not_taken.queued[0]
    not_taken(services.IMPORT_TASK)

    upload_id, user_id = options["args"]
    assert services.import_queued_upload(upload_id=upload_id, user_id=user_id) is None
    assert ProductPriceChange.objects.count() == 7


def test_double_clicked_confirm_through_the_admin_imports_once(store, staff, client):
    upload = services.start_product_upload(csv_file(ROWS), user=staff)
    client.force_login(staff)
    url = reverse("product_uploads:confirm", args=[upload.pk])

    first, second = client.post(url), client.post(url, follow=True)

    assert first.status_code == 302 and second.status_code == 200
    assert "cannot be imported again" in second.content.decode()
    assert ProductPriceChange.objects.count() == 7


def test_a_task_for_a_deleted_upload_does_nothing(store, staff, not_taken):
    upload = services.start_product_upload(csv_file(ROWS), user=staff)
    ProductUpload.objects.filter(pk=upload.pk).delete()
    not_taken(services.CHECK_TASK)

    assert not ProductUpload.objects.exists() and Product.objects.count() == 0
    assert services.import_queued_upload(upload_id=upload.pk, user_id=staff.pk) is None
    assert not Notification.objects.exists()


def test_broker_down_at_upload_says_try_again_and_keeps_nothing(store, staff, client, monkeypatch):
    broker_down(monkeypatch)
    client.force_login(staff)
    response = client.post(reverse("product_uploads:add"), {"file": csv_file(ROWS)})

    assert response.status_code == 200
    assert "try again in a minute" in response.content.decode()
    assert not ProductUpload.objects.exists()


def test_broker_down_at_confirm_says_try_again_and_keeps_the_preview(store, staff, client, monkeypatch):
    upload = services.start_product_upload(csv_file(ROWS), user=staff)
    broker_down(monkeypatch)
    client.force_login(staff)
    response = client.post(reverse("product_uploads:confirm", args=[upload.pk]), follow=True)

    assert response.status_code == 200
    assert "try again in a minute" in response.content.decode()
    upload.refresh_from_db()
    assert upload.status == ProductUpload.Status.PREVIEWED and Product.objects.count() == 0


def test_a_job_that_died_unrecorded_shows_as_stopped_not_as_running_forever(store, staff, not_taken, admin_client):
    upload = services.start_product_upload(csv_file(ROWS), user=staff)
    TaskRun.objects.filter(pk=upload.task_run_id).update(status=TaskRun.Status.FAILED)

    status = admin_client.get(reverse("product_uploads:status", args=[upload.pk])).json()
    page = admin_client.get(reverse("product_uploads:inspect", args=[upload.pk])).content.decode()

    assert status["finished"] is True and "stopped without finishing" in status["message"]
    assert "data-upload-stalled" in page and "data-upload-progress" not in page


# The page and its status endpoint


def test_the_page_of_a_running_upload_shows_a_progress_bar_and_its_poller(store, staff, not_taken, admin_client):
    upload = services.start_product_upload(csv_file(ROWS), user=staff)
    TaskRun.objects.filter(pk=upload.task_run_id).update(status="running", progress_done=2, progress_total=7)

    page = admin_client.get(reverse("product_uploads:inspect", args=[upload.pk])).content.decode()

    assert '<progress id="upload-progress-bar" max="7" value="2">' in page
    assert f'data-status-url="{reverse("product_uploads:status", args=[upload.pk])}"' in page
    assert "catalog/upload_progress.js" in page and "data-upload-confirm" not in page


def test_the_status_of_an_upload_is_refused_to_staff_without_upload_rights(store, staff, client):
    upload = services.start_product_upload(csv_file(ROWS), user=staff)
    client.force_login(moderator())
    assert client.get(reverse("product_uploads:status", args=[upload.pk])).status_code == 403


def test_the_status_of_an_unknown_upload_is_404(admin_client):
    assert admin_client.get(reverse("product_uploads:status", args=[999999])).status_code == 404


def test_the_status_needs_a_login(store, staff, client):
    upload = services.start_product_upload(csv_file(ROWS), user=staff)
    response = client.get(reverse("product_uploads:status", args=[upload.pk]))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
