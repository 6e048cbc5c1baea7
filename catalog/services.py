"""Write paths of the catalog: apps (with thumbnails), product prices, bulk product uploads."""

import io
from pathlib import PurePath

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone
from PIL import Image, ImageOps

from backoffice.events import publish

from .models import Product, ProductPriceChange, ProductUpload
from .product_files import read_product_file
from .resources import ProductResource, UploadLockLost, lost_a_race

THUMBNAIL_SIZE = (256, 256)
MAX_STORED_ROW_ERRORS = 1000


class AppHasDownloads(ValidationError):
    """Deleting an app would erase users' download and reward history; deactivate it instead."""


class UploadNotConfirmable(ValidationError):
    pass


# Apps


def save_app(app, *, user=None):
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
def save_product(product, *, user=None, source=ProductPriceChange.Source.MANUAL):
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


def import_products(dataset, *, dry_run, user=None, change_reason="Bulk upload"):
    """The one code path of every product import (admin preview, admin confirm, benchmark).

    All rows or none: the import runs in one transaction that is rolled back on any row error.
    """
    resource = ProductResource(uploaded_by=user, change_reason=change_reason)
    result = resource.import_data(dataset, dry_run=dry_run, use_transactions=True, rollback_on_validation_errors=True)
    return result, resource


def preview_product_upload(upload_file, *, user):
    """Check the file and dry-run it: a ProductUpload holding what would happen. A bad file is refused outright."""
    dataset = read_product_file(upload_file)
    result, resource = import_products(dataset, dry_run=True, user=user)
    errors = row_errors(result)
    upload = ProductUpload(
        original_name=PurePath(upload_file.name).name[:255],
        uploaded_by=user,
        status=ProductUpload.Status.FAILED if errors else ProductUpload.Status.PREVIEWED,
        row_errors=errors[:MAX_STORED_ROW_ERRORS],
        preview_rows=resource.preview_rows,
        **_counts(result, errors),
    )
    if errors:
        upload.finished_at = timezone.now()
    upload_file.seek(0)
    upload.file.save(upload_file.name, upload_file, save=False)
    upload.save()
    return upload


def confirm_product_upload(upload, *, user):
    """Import a previewed upload for real; on any error nothing is imported and the upload is marked failed."""
    with transaction.atomic():
        upload = ProductUpload.objects.select_for_update().get(pk=upload.pk)
        if upload.status != ProductUpload.Status.PREVIEWED:
            raise UploadNotConfirmable(
                "This upload is %(status)s and cannot be imported again. Upload the file again for a new preview.",
                code="not_confirmable",
                params={"status": upload.get_status_display().lower()},
            )
        with upload.file.open("rb") as stored:
            dataset = read_product_file(stored, upload.original_name)
        result, _resource = import_products(
            dataset, dry_run=False, user=user, change_reason=f"Bulk upload #{upload.pk}: {upload.original_name}"
        )
        errors = row_errors(result)
        upload.status = ProductUpload.Status.FAILED if errors else ProductUpload.Status.IMPORTED
        upload.row_errors = errors[:MAX_STORED_ROW_ERRORS]
        upload.finished_at = timezone.now()
        for name, value in _counts(result, errors).items():
            setattr(upload, name, value)
        upload.save()
    return upload


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
