"""PostgreSQL: the confirm writes the rows its preview checked (ProductUploadCheck) instead of reading and checking
the file again, but only while they are still right. Anything they depend on that changed since the preview (a
product edited, even behind history's back, created, deleted; the stored file; the rules' version) and the confirm
checks the file again, so it imports what a confirm that re-checks would import."""

from decimal import Decimal

import pytest

from backoffice.tests.factories import admin
from catalog import resources, services
from catalog.models import Product, ProductPriceChange, ProductUpload, ProductUploadCheck
from catalog.tests.factories import ProductFactory
from catalog.tests.test_product_upload import csv_file

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def file_reads(monkeypatch):
    """How many times the services read a product file (the preview reads it once)."""
    reads = []
    read = services.read_product_file

    def counted(*args, **kwargs):
        reads.append(args)
        return read(*args, **kwargs)

    monkeypatch.setattr(services, "read_product_file", counted)
    return reads


def previewed(body, user):
    upload = services.preview_product_upload(csv_file(body), user=user)
    assert upload.status == ProductUpload.Status.PREVIEWED, upload.row_errors
    return upload


def test_preview_keeps_its_checked_rows_tied_to_the_file(on_postgres, store, staff):
    upload = previewed("main-store,A1,Apple,1.00,1,yes\n", staff)

    check = ProductUploadCheck.objects.get(upload=upload)
    assert check.version == resources.CHECKED_ROWS_VERSION
    assert check.stores == {"main-store": store.pk}
    with upload.file.open("rb") as stored:
        assert check.file_sha256 == services.file_sha256(stored)


def test_a_failed_preview_keeps_no_checked_rows(on_postgres, store, staff):
    upload = services.preview_product_upload(csv_file("main-store,A1,Apple,abc,1,yes\n"), user=staff)

    assert upload.status == ProductUpload.Status.FAILED
    assert not ProductUploadCheck.objects.filter(upload=upload).exists()


def test_confirm_of_an_unchanged_preview_writes_its_checked_rows_without_reading_the_file(
    on_postgres, store, staff, file_reads
):
    ProductFactory(store=store, sku="A1", name="Apple", price="5.00", stock=1)
    upload = previewed("main-store,A1,Apple,6.00,,\nmain-store,B2,Bread,2.50,3,no\n", staff)

    upload = services.confirm_product_upload(upload=upload, user=staff)

    assert len(file_reads) == 1  # the preview's
    assert (upload.status, upload.created_rows, upload.updated_rows, upload.total_rows) == ("imported", 1, 1, 2)
    products = Product.objects.order_by("sku").values_list("sku", "price", "stock", "active")
    assert list(products) == [("A1", Decimal("6.00"), 1, True), ("B2", Decimal("2.50"), 3, False)]
    assert Product.history.filter(history_change_reason=f"Bulk upload #{upload.pk}: products.csv").count() == 2


def test_confirm_discards_the_checked_rows(on_postgres, store, staff):
    upload = previewed("main-store,A1,Apple,1.00,1,yes\n", staff)

    services.confirm_product_upload(upload=upload, user=staff)

    assert not ProductUploadCheck.objects.filter(upload=upload).exists()


# Stale previews: the file is checked again, against the catalog as it is now.


def test_a_product_edited_since_the_preview_records_the_price_it_has_now(on_postgres, store, staff, file_reads):
    apple = ProductFactory(store=store, sku="A1", name="Apple", price="5.00", stock=1)
    upload = previewed("main-store,A1,Apple,6.00,1,yes\n", staff)
    Product.objects.filter(pk=apple.pk).update(price="5.50")  # no history, no updated_at: as stock updates are

    upload = services.confirm_product_upload(upload=upload, user=staff)

    assert upload.status == "imported"
    assert len(file_reads) == 2
    change = ProductPriceChange.objects.get(product=apple)
    assert (change.old_price, change.new_price) == (Decimal("5.50"), Decimal("6.00"))


def test_an_unchanged_row_whose_product_was_edited_since_the_preview_updates_it(on_postgres, store, staff):
    apple = ProductFactory(store=store, sku="A1", name="Apple", price="5.00", stock=1, active=True)
    upload = previewed("main-store,A1,Apple,5.00,1,yes\n", staff)
    assert upload.unchanged_rows == 1
    Product.objects.filter(pk=apple.pk).update(name="Renamed")

    upload = services.confirm_product_upload(upload=upload, user=staff)

    assert (upload.status, upload.updated_rows, upload.unchanged_rows) == ("imported", 1, 0)
    assert Product.objects.get(pk=apple.pk).name == "Apple"


def test_a_product_created_since_the_preview_is_updated_not_refused(on_postgres, store, staff):
    upload = previewed("main-store,B2,Bread,2.50,3,yes\n", staff)
    bread = ProductFactory(store=store, sku="B2", name="Old bread", price="2.00", stock=1)

    upload = services.confirm_product_upload(upload=upload, user=staff)

    assert (upload.status, upload.created_rows, upload.updated_rows) == ("imported", 0, 1), upload.row_errors
    bread.refresh_from_db()
    assert (bread.name, bread.price) == ("Bread", Decimal("2.50"))


def test_a_product_deleted_since_the_preview_is_created_again(on_postgres, store, staff):
    apple = ProductFactory(store=store, sku="A1", name="Apple", price="5.00", stock=1)
    upload = previewed("main-store,A1,Apple,6.00,1,yes\n", staff)
    apple.delete()

    upload = services.confirm_product_upload(upload=upload, user=staff)

    assert (upload.status, upload.created_rows, upload.updated_rows) == ("imported", 1, 0)
    assert Product.objects.get(store=store, sku="A1").price == Decimal("6.00")


def test_a_stored_file_changed_since_the_preview_is_read_and_checked_again(on_postgres, store, staff):
    upload = previewed("main-store,A1,Apple,1.00,1,yes\n", staff)
    with upload.file.open("wb") as stored:
        stored.write(b"store,sku,name,price,stock,active\nmain-store,A1,Apple,abc,1,yes\n")

    upload = services.confirm_product_upload(upload=upload, user=staff)

    assert upload.status == "failed"
    assert [error["column"] for error in upload.row_errors] == ["price"]
    assert not Product.objects.exists()


def test_rows_checked_by_other_rules_are_checked_again(on_postgres, store, staff, file_reads):
    upload = previewed("main-store,A1,Apple,1.00,1,yes\n", staff)
    ProductUploadCheck.objects.filter(upload=upload).update(version=resources.CHECKED_ROWS_VERSION + 1)

    upload = services.confirm_product_upload(upload=upload, user=staff)

    assert upload.status == "imported"
    assert len(file_reads) == 2


def test_a_store_given_another_stores_slug_since_the_preview_receives_the_rows(on_postgres, store, staff):
    upload = previewed("main-store,A1,Apple,1.00,1,yes\n", staff)
    store.slug = "old-main"
    store.save()
    new_main = type(store).objects.create(slug="main-store", name="New main")

    upload = services.confirm_product_upload(upload=upload, user=staff)

    assert upload.status == "imported"
    assert Product.objects.get(sku="A1").store == new_main


def test_the_background_check_keeps_the_rows_and_the_background_import_writes_them(
    on_postgres, store, settings, file_reads
):
    settings.PRODUCT_UPLOAD_INLINE_MAX_BYTES = 64  # tasks run eagerly (settings/test.py)
    user = admin()
    body = "".join(f"main-store,SKU{n},Product {n},{n}.50,{n},yes\n" for n in range(1, 8))
    upload = services.start_product_upload(csv_file(body), user=user)
    assert upload.status == ProductUpload.Status.PREVIEWED
    assert ProductUploadCheck.objects.filter(upload=upload).exists()

    upload = services.start_product_import(upload, user=user)

    assert upload.status == ProductUpload.Status.IMPORTED
    assert len(file_reads) == 1  # the check's
    assert Product.objects.count() == 7


def test_a_row_only_python_could_read_that_updates_a_product_is_reused_unchanged(on_postgres, store, staff, file_reads):
    """SQL suspects a price in Unicode digits and Python accepts it: the kept row still carries the product it saw."""
    ProductFactory(store=store, sku="U1", name="Unicode", price="5.00", stock=2, active=True)
    upload = previewed("main-store,U1,Unicode,\u0661\u0662.50,,\n", staff)

    upload = services.confirm_product_upload(upload=upload, user=staff)

    assert (upload.status, upload.updated_rows) == ("imported", 1)
    assert len(file_reads) == 1
    assert Product.objects.get(sku="U1").price == Decimal("12.50")


# Previews nobody confirms: their checked rows are pruned, the confirm checks the file again.


def test_the_daily_prune_deletes_checked_rows_older_than_the_retention_only(on_postgres, store, staff, settings):
    import datetime

    from django.utils import timezone

    settings.PRODUCT_UPLOAD_CHECK_RETENTION_DAYS = 7
    old = previewed("main-store,A1,Apple,1.00,1,yes\n", staff)
    recent = previewed("main-store,B2,Bread,2.00,1,yes\n", staff)
    ProductUploadCheck.objects.filter(upload=old).update(created_at=timezone.now() - datetime.timedelta(days=8))

    assert services.prune_upload_checks() == 1
    assert list(ProductUploadCheck.objects.values_list("upload_id", flat=True)) == [recent.pk]
    assert ProductUpload.objects.filter(pk=old.pk, status=ProductUpload.Status.PREVIEWED).exists()  # only the rows go


def test_a_preview_confirmed_after_its_rows_were_pruned_checks_the_file_again_and_imports(
    on_postgres, store, staff, file_reads
):
    upload = previewed("main-store,A1,Apple,1.00,1,yes\n", staff)
    ProductUploadCheck.objects.filter(upload=upload).delete()  # what the prune does to an old preview

    upload = services.confirm_product_upload(upload=upload, user=staff)

    assert len(file_reads) == 2  # the preview's, and the confirm's check
    assert (upload.status, upload.created_rows) == ("imported", 1)
    assert Product.objects.filter(sku="A1", price=Decimal("1.00")).exists()
