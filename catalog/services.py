"""Write paths of the catalog: apps (with thumbnails), product prices, bulk product uploads."""

import io
import logging
from pathlib import PurePath

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.urls import reverse
from django.utils import timezone
from PIL import Image, ImageOps

from backoffice import jobs
from backoffice.alerts import alert_staff
from backoffice.events import publish

from .models import Product, ProductPriceChange, ProductUpload, ProductUploadCheck
from .product_files import check_name_and_size, file_sha256, read_product_file
from .resources import CHECKED_ROWS_VERSION, CheckOutdated, ProductResource, UploadLockLost, lost_a_race, product_writer

logger = logging.getLogger(__name__)

THUMBNAIL_SIZE = (256, 256)
MAX_STORED_ROW_ERRORS = 1000


class AppHasDownloads(ValidationError):
    """Deleting an app would erase users' download and reward history; deactivate it instead."""


class UploadNotConfirmable(ValidationError):
    pass


class UploadNotQueued(ValidationError):
    """A large file's check or import could not be handed to the background worker (broker down)."""


# Apps


def save_app(*, app, user=None):
    """Validate and save an app, keeping its thumbnail in step with its image and recording who did it."""
    app.full_clean()
    if app.pk is None and app.created_by_id is None:
        app.created_by = user
    image_is_new = bool(app.image) and not app.image._committed
    if image_is_new:
        app.thumbnail.save(_thumbnail_name(app.image.name), make_thumbnail(app.image), save=False)
    elif not app.image and app.thumbnail:
        app.thumbnail = ""
    app._history_user = user
    created = app.pk is None
    app.save()
    if created:
        publish("app.created", {"id": app.pk, "slug": app.slug, "name": app.name, "credit_price": app.credit_price})
    return app


def delete_app(app, *, user=None):
    """Delete an app nobody has downloaded; an app with downloads must be deactivated instead."""
    check_app_deletable(app)
    app._history_user = user
    try:
        app.delete()
    except ProtectedError:
        raise _has_downloads(app) from None


def check_app_deletable(app):
    if app.downloads.exists():
        raise _has_downloads(app)


def _has_downloads(app):
    return AppHasDownloads(
        "'%(name)s' cannot be deleted: users have downloaded it, and their downloads and rewards refer to it. "
        "Deactivate it instead (untick 'active'): it disappears from the public site and keeps its history.",
        code="app_has_downloads",
        params={"name": app.name},
    )


def make_thumbnail(image_file, size=THUMBNAIL_SIZE):
    """A PNG at most `size`, upright (EXIF orientation applied), from an already validated image."""
    image_file.seek(0)
    with Image.open(image_file) as image:
        image = ImageOps.exif_transpose(image)
        image = image.convert("RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB")
        image.thumbnail(size, Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", optimize=True)
    image_file.seek(0)
    return ContentFile(buffer.getvalue())


def _thumbnail_name(image_name):
    return f"{PurePath(image_name).stem}.png"


# Product prices


def record_price_change(product, old_price, new_price, source):
    if old_price == new_price:
        return None
    return ProductPriceChange.objects.create(product=product, old_price=old_price, new_price=new_price, source=source)


@transaction.atomic
def save_product(*, product, user=None, source=ProductPriceChange.Source.MANUAL):
    """Save a product edited by hand, recording its price change."""
    product.full_clean()
    old_price = None
    if product.pk is not None:
        old_price = Product.objects.select_for_update().values_list("price", flat=True).get(pk=product.pk)
    product._history_user = user
    product.save()
    record_price_change(product, old_price, product.price, source)
    return product


# Bulk product upload


def import_products(dataset, *, dry_run, user=None, change_reason="Bulk upload", progress=None):
    """The one code path of every product import (admin preview, admin confirm, benchmark).

    All rows or none: the import runs in one transaction that is rolled back on any row error.
    `progress`, if given, is called with the number of rows read so far (every PROGRESS_EVERY_ROWS rows).
    """
    resource = ProductResource(uploaded_by=user, change_reason=change_reason, progress=progress)
    result = resource.import_data(dataset, dry_run=dry_run, use_transactions=True, rollback_on_validation_errors=True)
    return result, resource


def preview_product_upload(upload_file, *, user):
    """Check the file and dry-run it: a ProductUpload holding what would happen. A bad file is refused outright."""
    dataset = read_product_file(upload_file)
    upload = ProductUpload(original_name=PurePath(upload_file.name).name[:255], uploaded_by=user)
    resource = _dry_run(upload, dataset, user=user)
    upload_file.seek(0)
    upload.file.save(upload_file.name, upload_file, save=False)
    _save_preview(upload, resource, upload_file)
    return upload


def _save_preview(upload, resource, upload_file):
    """The upload and the rows its dry run checked, together."""
    with transaction.atomic():
        upload.save()
        _keep_checked_rows(upload, resource, upload_file)


def _dry_run(upload, dataset, *, user, progress=None):
    """Fill `upload` with what importing `dataset` would do (previewed), or its errors (failed). Writes nothing."""
    result, resource = import_products(dataset, dry_run=True, user=user, progress=progress)
    errors = row_errors(result)
    upload.status = ProductUpload.Status.FAILED if errors else ProductUpload.Status.PREVIEWED
    upload.row_errors = errors[:MAX_STORED_ROW_ERRORS]
    upload.preview_rows = resource.preview_rows
    for name, value in _counts(result, errors).items():
        setattr(upload, name, value)
    if errors:
        upload.finished_at = timezone.now()
    return resource


def _keep_checked_rows(upload, resource, upload_file):
    """Keep what a previewed upload's dry run checked (PostgreSQL: ProductUploadCheck) for its confirm to reuse,
    tied to the file's hash."""
    if upload.status != ProductUpload.Status.PREVIEWED or resource.kept_rows is None:
        return
    ProductUploadCheck.objects.create(
        upload=upload,
        version=CHECKED_ROWS_VERSION,
        file_sha256=file_sha256(upload_file),
        stores=resource.kept_stores,
        rows=resource.kept_rows,
    )


def prune_upload_checks(now=None):
    """Delete the checked rows of previews left unconfirmed longer than PRODUCT_UPLOAD_CHECK_RETENTION_DAYS; their
    confirm, if it ever comes, checks the stored file again. Returns how many."""
    checks = ProductUploadCheck.objects.all()
    return jobs.prune_older_than(checks, field="created_at", days=settings.PRODUCT_UPLOAD_CHECK_RETENTION_DAYS, now=now)


def confirm_product_upload(*, upload, user):
    """Import a previewed upload for real; on any error nothing is imported and the upload is marked failed."""
    with transaction.atomic():
        upload = ProductUpload.objects.select_for_update().get(pk=upload.pk)
        if upload.status != ProductUpload.Status.PREVIEWED:
            raise _not_confirmable(upload)
        _import_stored_file(upload, user=user)
    return upload


def _import_checked_rows(upload, *, user, change_reason, progress=None):
    """The import from the rows the preview checked (ProductUploadCheck), or None when there are none, they were
    checked by other rules (CHECKED_ROWS_VERSION), the stored file is not the one checked (its hash), or a store or
    product they depend on changed since (ProductResource.import_checked): the caller then checks the file again."""
    if not product_writer().checks_in_sql:
        return None
    check = ProductUploadCheck.objects.filter(upload=upload, version=CHECKED_ROWS_VERSION).first()
    if check is None:
        return None
    with upload.file.open("rb") as stored:
        if file_sha256(stored) != check.file_sha256:
            return None
    if progress is not None:
        progress(0, upload.total_rows)
    try:
        return ProductResource(uploaded_by=user, change_reason=change_reason).import_checked(
            bytes(check.rows), check.stores
        )
    except CheckOutdated:
        return None


def _not_confirmable(upload):
    return UploadNotConfirmable(
        "This upload is %(status)s and cannot be imported again. Upload the file again for a new preview.",
        code="not_confirmable",
        params={"status": upload.get_status_display().lower().rstrip("…")},
    )


def _import_stored_file(upload, *, user, progress=None):
    """Import the upload's stored file in the caller's transaction and record the outcome on the upload: from the
    rows its preview checked when they are still good (_import_checked_rows), else by reading and checking the file
    again."""
    change_reason = f"Bulk upload #{upload.pk}: {upload.original_name}"
    result = _import_checked_rows(upload, user=user, change_reason=change_reason, progress=progress)
    if result is None:
        with upload.file.open("rb") as stored:
            dataset = read_product_file(stored, upload.original_name)
        if progress is not None:
            report, total = progress, len(dataset)
            report(0, total)
            progress = lambda done: report(done, total)  # noqa: E731
        result, _resource = import_products(
            dataset, dry_run=False, user=user, change_reason=change_reason, progress=progress
        )
    ProductUploadCheck.objects.filter(upload=upload).delete()  # an upload is confirmed once
    errors = row_errors(result)
    upload.status = ProductUpload.Status.FAILED if errors else ProductUpload.Status.IMPORTED
    upload.row_errors = errors[:MAX_STORED_ROW_ERRORS]
    upload.finished_at = timezone.now()
    for name, value in _counts(result, errors).items():
        setattr(upload, name, value)
    upload.save()


# Large files: checked and imported by a background job (PRODUCT_UPLOAD_INLINE_MAX_BYTES), with progress.

CHECK_TASK = "catalog.tasks.check_product_upload"
IMPORT_TASK = "catalog.tasks.import_product_upload"
UPLOAD_RESULT_FIELDS = [
    "status",
    "finished_at",
    "total_rows",
    "created_rows",
    "updated_rows",
    "unchanged_rows",
    "error_rows",
    "row_errors",
    "preview_rows",
]


def runs_in_background(size):
    """Whether a product file of `size` bytes is checked and imported by a background job."""
    return size is not None and size > settings.PRODUCT_UPLOAD_INLINE_MAX_BYTES


def start_product_upload(upload_file, *, user):
    """The admin's upload: a small file is previewed here and now (preview_product_upload); a large one is stored
    and checked by a background job, and the upload returned in status "checking" (its page shows the progress;
    the uploader is notified when the preview is ready). Call outside a transaction: the worker must see the row.
    """
    if not runs_in_background(upload_file.size):
        return preview_product_upload(upload_file, user=user)
    check_name_and_size(upload_file)
    upload = ProductUpload(
        original_name=PurePath(upload_file.name).name[:255], uploaded_by=user, status=ProductUpload.Status.CHECKING
    )
    upload_file.seek(0)
    upload.file.save(upload_file.name, upload_file, save=False)
    upload.save()
    try:
        _queue(upload, CHECK_TASK, [upload.pk], user)
    except UploadNotQueued:
        upload.file.delete(save=False)
        upload.delete()
        raise
    upload.refresh_from_db()
    return upload


def start_product_import(upload, *, user):
    """The admin's confirm: a small file is imported here and now (confirm_product_upload); a large one is marked
    "importing" and imported by a background job. Confirming twice (double click, two tabs) imports once: only
    one request moves the upload out of "previewed"; the other is refused as not confirmable."""
    if not runs_in_background(upload.file.size):
        return confirm_product_upload(upload=upload, user=user)
    moved = ProductUpload.objects.filter(pk=upload.pk, status=ProductUpload.Status.PREVIEWED).update(
        status=ProductUpload.Status.IMPORTING
    )
    upload.refresh_from_db()
    if not moved:
        raise _not_confirmable(upload)
    try:
        _queue(upload, IMPORT_TASK, [upload.pk, user.pk], user)
    except UploadNotQueued:
        ProductUpload.objects.filter(pk=upload.pk, status=ProductUpload.Status.IMPORTING).update(
            status=ProductUpload.Status.PREVIEWED
        )
        raise
    upload.refresh_from_db()
    return upload


def _queue(upload, task_name, args, user):
    try:
        run = jobs.queue_job(task_name=task_name, args=args, requested_by=user)
    except jobs.JobNotQueued as exc:
        logger.warning("product upload %s: %s", upload.pk, exc)
        raise UploadNotQueued(
            "The background worker could not be reached, so this large file was not started. Nothing was imported; "
            "try again in a minute.",
            code="not_queued",
        ) from exc
    ProductUpload.objects.filter(pk=upload.pk).update(task_run=run)


def check_queued_upload(upload_id):
    """The background check (dry run) of a large upload. An upload deleted meanwhile, or no longer "checking"
    (a repeated delivery), is left alone. The uploader is told when the preview is ready."""
    upload = ProductUpload.objects.select_related("uploaded_by").filter(pk=upload_id).first()
    if upload is None or upload.status != ProductUpload.Status.CHECKING:
        return None
    resource = None
    try:
        try:
            with upload.file.open("rb") as stored:
                dataset = read_product_file(stored, upload.original_name)
        except ValidationError as refusal:
            _file_refused(upload, refusal)
        else:
            total = len(dataset)
            jobs.report_progress(0, total)
            resource = _dry_run(
                upload, dataset, user=upload.uploaded_by, progress=lambda done: jobs.report_progress(done, total)
            )
            jobs.report_progress(total, total)
    except Exception as exc:
        _stopped(upload, ProductUpload.Status.CHECKING, exc, user=upload.uploaded_by)
        raise
    if not _save_check_result(upload, resource):
        return None
    _notify(upload, upload.uploaded_by)
    return {"rows": upload.total_rows}


def import_queued_upload(*, upload_id, user_id):
    """The background import of a large upload the admin confirmed ("importing"): all rows or none, as inline.
    The upload row stays locked while it runs, so a repeated delivery waits and then finds it imported."""
    user = get_user_model().objects.filter(pk=user_id).first()
    upload = None
    try:
        with transaction.atomic():
            upload = ProductUpload.objects.select_for_update().filter(pk=upload_id).first()
            if upload is None or upload.status != ProductUpload.Status.IMPORTING:
                return None
            _import_stored_file(upload, user=user, progress=jobs.report_progress)
    except Exception as exc:
        if upload is not None:
            _stopped(upload, ProductUpload.Status.IMPORTING, exc, user=user)
        raise
    jobs.report_progress(upload.total_rows, upload.total_rows)
    _notify(upload, user)
    return {"rows": upload.created_rows + upload.updated_rows}


def _file_refused(upload, refusal):
    upload.status = ProductUpload.Status.FAILED
    upload.row_errors = [{"row": None, "column": None, "message": message} for message in refusal.messages]
    upload.finished_at = timezone.now()


def _save_check_result(upload, resource):
    """_save_result of a background check, with the rows its dry run checked (if any), together. True when written."""
    with transaction.atomic():
        if not _save_result(upload, ProductUpload.Status.CHECKING):
            return False
        if resource is not None:
            with upload.file.open("rb") as stored:
                _keep_checked_rows(upload, resource, stored)
    return True


def _save_result(upload, expected_status):
    """Write the job's outcome only if the upload still exists and is still `expected_status` (never re-create a
    deleted upload, never overwrite another run's result). True when written."""
    values = {name: getattr(upload, name) for name in UPLOAD_RESULT_FIELDS}
    return bool(ProductUpload.objects.filter(pk=upload.pk, status=expected_status).update(**values))


def _stopped(upload, expected_status, exc, *, user):
    """The job raised: its transaction rolled back, so nothing was imported; the upload says so and why."""
    message = (
        f"The job stopped with an unexpected error ({type(exc).__name__}: {str(exc)[:300]}). "
        "Nothing was imported. Upload the file again; if it happens again, tell an administrator."
    )
    failed = {
        "status": ProductUpload.Status.FAILED,
        "finished_at": timezone.now(),
        "row_errors": [{"row": None, "column": None, "message": message}],
    }
    if ProductUpload.objects.filter(pk=upload.pk, status=expected_status).update(**failed):
        upload.refresh_from_db()
        _notify(upload, user)


def _notify(upload, user):
    """Tell whoever started the step (in the admin's alerts, notifications and by email) that it is done."""
    if user is None:
        return
    outcomes = {
        ProductUpload.Status.PREVIEWED: "ready to confirm",
        ProductUpload.Status.IMPORTED: "imported",
        ProductUpload.Status.FAILED: "failed",
    }
    subject = f"Product upload {upload.original_name}: {outcomes.get(upload.status, upload.status)}"
    if upload.status == ProductUpload.Status.FAILED:
        body = f"{len(upload.row_errors)} problem(s); nothing was imported."
    elif upload.status == ProductUpload.Status.IMPORTED:
        body = f"{upload.created_rows} products created, {upload.updated_rows} updated."
    else:
        body = f"The dry run would create {upload.created_rows} and update {upload.updated_rows} products."
    try:
        alert_staff(
            kind="job_finished",
            subject=subject,
            body=body,
            url=reverse("product_uploads:inspect", args=[upload.pk]),
            groups=(),
            users=[user],
        )
    except Exception:
        logger.exception("could not notify %s about product upload %s", user.pk, upload.pk)


def row_errors(result):
    """Flatten an import Result into [{"row", "column", "message"}], rows numbered as in a spreadsheet."""
    errors = [
        {"row": None, "column": None, "message": _file_error_message(error.error)} for error in result.base_errors
    ]
    for invalid in result.invalid_rows:
        for column, messages in invalid.error_dict.items():
            column = None if column == NON_FIELD_ERRORS else column
            for message in messages:
                errors.append({"row": invalid.number + 1, "column": column, "message": str(message)})
    for number, row_errs in result.row_errors():
        for error in row_errs:
            errors.append({"row": number + 1, "column": None, "message": str(error.error)})
    return errors


def _file_error_message(error):
    if lost_a_race(error):
        return UploadLockLost.message
    # COPY errors come straight from psycopg: integrity violations are SQLSTATE class 23.
    if isinstance(error, IntegrityError) or str(getattr(error, "sqlstate", None) or "").startswith("23"):
        return (
            "Some products changed while this file was being imported (another upload or edit at the same time). "
            "Nothing was imported; upload the file again."
        )
    return str(error)


def _counts(result, errors):
    totals = result.totals
    return {
        "total_rows": result.total_rows,
        "created_rows": totals.get("new", 0),
        "updated_rows": totals.get("update", 0),
        "unchanged_rows": totals.get("skip", 0),
        "error_rows": len({error["row"] for error in errors if error["row"] is not None}),
    }
