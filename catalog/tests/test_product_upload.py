import io
import threading
import time
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from backoffice.images import placeholder_png
from backoffice.testing.concurrency import run_in_threads
from backoffice.tests.factories import admin
from catalog import product_files, services
from catalog.models import Product, ProductPriceChange, ProductUpload, Store
from catalog.resources import ProductResource, UploadLockLost
from catalog.tests.factories import ProductFactory, StoreFactory
from catalog.tests.test_hostile_product_files import xlsx_bytes

pytestmark = pytest.mark.django_db

HEADER = "store,sku,name,price,stock,active\n"


def csv_file(body, header=HEADER, name="products.csv", encoding="utf-8"):
    return SimpleUploadedFile(name, (header + body).encode(encoding), content_type="text/csv")


def xlsx_file(rows, name="products.xlsx"):
    return SimpleUploadedFile(name, xlsx_bytes(rows))


def preview_and_confirm(upload_file, user):
    upload = services.preview_product_upload(upload_file, user=user)
    assert upload.status == ProductUpload.Status.PREVIEWED, upload.row_errors
    return services.confirm_product_upload(upload=upload, user=user)


def database_state():
    return (
        list(Product.objects.order_by("pk").values_list("store_id", "sku", "name", "price", "stock", "active")),
        ProductPriceChange.objects.count(),
        Product.history.count(),
    )


def test_preview_reports_creates_and_updates_without_writing_products(store, staff):
    ProductFactory(store=store, sku="A1", price="5.00")
    before = database_state()

    upload = services.preview_product_upload(
        csv_file("main-store,A1,Apple,6.00,3,yes\nmain-store,B2,Bread,2.50,,\n"), user=staff
    )

    assert database_state() == before
    assert (upload.status, upload.created_rows, upload.updated_rows, upload.total_rows) == ("previewed", 1, 1, 2)
    assert [(r["action"], r["sku"], r["old_price"], r["new_price"]) for r in upload.preview_rows] == [
        ("update", "A1", "5.00", "6.00"),
        ("create", "B2", None, "2.50"),
    ]
    assert upload.uploaded_by == staff


def test_confirm_imports_every_row_and_records_price_changes_from_upload(store, staff):
    ProductFactory(store=store, sku="A1", price="5.00", stock=1)

    upload = preview_and_confirm(csv_file("main-store,A1,Apple,6.00,3,yes\nmain-store,B2,Bread,2.50,,\n"), staff)

    assert upload.status == ProductUpload.Status.IMPORTED
    assert upload.finished_at is not None
    apple = Product.objects.get(sku="A1")
    assert (apple.name, apple.price, apple.stock) == ("Apple", Decimal("6.00"), 3)
    bread = Product.objects.get(sku="B2")
    assert (bread.price, bread.stock, bread.active) == (Decimal("2.50"), 0, True)
    changes = set(ProductPriceChange.objects.values_list("product__sku", "old_price", "new_price", "source"))
    assert changes == {("A1", Decimal("5.00"), Decimal("6.00"), "upload"), ("B2", None, Decimal("2.50"), "upload")}


def test_uploaded_products_get_history_with_the_uploader(store, staff):
    preview_and_confirm(csv_file("main-store,B2,Bread,2.50,1,yes\n"), staff)

    record = Product.history.get(sku="B2")
    assert record.history_user == staff
    assert "Bulk upload" in record.history_change_reason


def test_reuploading_the_same_file_updates_instead_of_duplicating(store, staff):
    body = "main-store,A1,Apple,6.00,3,yes\nmain-store,B2,Bread,2.50,1,no\n"
    preview_and_confirm(csv_file(body), staff)

    second = preview_and_confirm(csv_file(body), staff)

    assert Product.objects.count() == 2
    assert (second.created_rows, second.updated_rows, second.unchanged_rows) == (0, 0, 2)
    assert ProductPriceChange.objects.count() == 2


def test_price_change_on_reupload_is_recorded_once(store, staff):
    preview_and_confirm(csv_file("main-store,A1,Apple,6.00,3,yes\n"), staff)

    preview_and_confirm(csv_file("main-store,A1,Apple,7.00,3,yes\n"), staff)

    assert list(ProductPriceChange.objects.order_by("pk").values_list("old_price", "new_price")) == [
        (None, Decimal("6.00")),
        (Decimal("6.00"), Decimal("7.00")),
    ]


def test_same_sku_in_another_store_is_another_product(staff):
    StoreFactory(slug="main-store")
    StoreFactory(slug="outlet", name="Outlet")

    preview_and_confirm(csv_file("main-store,A1,Apple,6.00,3,yes\noutlet,A1,Apple,5.00,3,yes\n"), staff)

    assert Product.objects.filter(sku="A1").count() == 2


def test_xlsx_upload_imports_like_csv(store, staff):
    upload_file = xlsx_file([["store", "sku", "name", "price", "stock"], ["main-store", "X1", "Xylo", 12.5, 4]])

    upload = preview_and_confirm(upload_file, staff)

    assert upload.status == "imported"
    assert Product.objects.get(sku="X1").price == Decimal("12.50")


def test_optional_columns_keep_existing_values_on_update(store, staff):
    ProductFactory(store=store, sku="A1", price="5.00", stock=9, active=False)

    preview_and_confirm(csv_file("main-store,A1,Apple,5.00\n", header="store,sku,name,price\n"), staff)

    apple = Product.objects.get(sku="A1")
    assert (apple.name, apple.stock, apple.active) == ("Apple", 9, False)


# Row errors: named by row and column, and nothing is written.


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        ("main-store,A1,Apple,-1.00,3,yes", "price", "Price cannot be negative (got -1.00)."),
        ("main-store,A1,Apple,abc,3,yes", "price", "Price must be a number like 19.99 (got 'abc')."),
        ("main-store,A1,Apple,1.005,3,yes", "price", "Price can have at most 2 decimal places (got 1.005)."),
        ("main-store,A1,Apple,,3,yes", "price", "Price is required."),
        ("main-store,A1,,1.00,3,yes", "name", "Name is required."),
        ("main-store,,Apple,1.00,3,yes", "sku", "SKU is required."),
        ("nowhere,A1,Apple,1.00,3,yes", "store", "Unknown store 'nowhere'."),
        ("main-store,A1,Apple,1.00,-2,yes", "stock", "Stock cannot be negative (got -2)."),
        ("main-store,A1,Apple,1.00,many,yes", "stock", "Stock must be a whole number (got 'many')."),
        ("main-store,A1,Apple,1.00,3,perhaps", "active", "Active must be yes or no (got 'perhaps')."),
    ],
)
def test_bad_value_is_a_row_error_naming_row_and_column(store, staff, row, column, message):
    before = database_state()

    upload = services.preview_product_upload(csv_file(f"main-store,OK,Fine,1.00,1,yes\n{row}\n"), user=staff)

    assert upload.status == ProductUpload.Status.FAILED
    assert upload.row_errors == [{"row": 3, "column": column, "message": message}]
    assert upload.error_rows == 1
    assert database_state() == before


def test_duplicate_sku_inside_one_file_is_refused(store, staff):
    upload = services.preview_product_upload(
        csv_file("main-store,A1,Apple,1.00,1,yes\nmain-store,B2,Bread,1.00,1,yes\nmain-store,A1,Apple,2.00,1,yes\n"),
        user=staff,
    )

    assert upload.status == ProductUpload.Status.FAILED
    assert upload.row_errors == [
        {
            "row": 4,
            "column": "sku",
            "message": "SKU 'A1' of store 'main-store' is already on row 2; each product may appear once.",
        }
    ]
    assert Product.objects.count() == 0


def test_one_bad_row_among_many_imports_nothing(store, staff):
    ProductFactory(store=store, sku="A1", price="5.00")
    before = database_state()
    body = "".join(f"main-store,S{i},Thing {i},{i}.00,1,yes\n" for i in range(50)) + "main-store,A1,Apple,-3,1,yes\n"

    upload = services.preview_product_upload(csv_file(body), user=staff)

    assert upload.status == "failed"
    assert upload.row_errors[0]["row"] == 52
    assert database_state() == before


def test_failed_preview_cannot_be_confirmed(store, staff):
    upload = services.preview_product_upload(csv_file("main-store,A1,Apple,-1,1,yes\n"), user=staff)

    with pytest.raises(services.UploadNotConfirmable):
        services.confirm_product_upload(upload=upload, user=staff)
    assert Product.objects.count() == 0


def test_confirming_twice_imports_once(store, staff):
    upload = services.preview_product_upload(csv_file("main-store,A1,Apple,1.00,1,yes\n"), user=staff)
    services.confirm_product_upload(upload=upload, user=staff)

    with pytest.raises(services.UploadNotConfirmable, match="imported"):
        services.confirm_product_upload(upload=upload, user=staff)
    assert ProductPriceChange.objects.count() == 1


def test_confirm_that_meets_changed_data_fails_whole_and_says_so(store, staff):
    upload = services.preview_product_upload(csv_file("main-store,A1,Apple,1.00,1,yes\n"), user=staff)
    store.slug = "renamed"
    store.save()

    upload = services.confirm_product_upload(upload=upload, user=staff)

    assert upload.status == ProductUpload.Status.FAILED
    assert upload.row_errors == [{"row": 2, "column": "store", "message": "Unknown store 'main-store'."}]
    assert Product.objects.count() == 0


def test_a_last_row_refused_at_confirm_imports_none_of_the_good_rows_before_it(store, staff):
    StoreFactory(slug="outlet", name="Outlet")
    body = "".join(f"main-store,S{i},Thing {i},{i}.00,1,yes\n" for i in range(4)) + "outlet,S9,Nine,9.00,1,yes\n"
    upload = services.preview_product_upload(csv_file(body), user=staff)
    before = database_state()
    Store.objects.filter(slug="outlet").update(slug="closed")

    upload = services.confirm_product_upload(upload=upload, user=staff)

    assert upload.status == ProductUpload.Status.FAILED
    assert upload.row_errors == [{"row": 6, "column": "store", "message": "Unknown store 'outlet'."}]
    assert database_state() == before


def test_store_deleted_while_importing_fails_the_upload_whole_and_says_so(store, staff, monkeypatch):
    upload = services.preview_product_upload(csv_file("main-store,A1,Apple,1.00,1,yes\n"), user=staff)
    read_stores = ProductResource.before_import

    def delete_store_after_reading_it(resource, dataset, **kwargs):
        read_stores(resource, dataset, **kwargs)
        Store.objects.filter(pk=store.pk).delete()

    monkeypatch.setattr(ProductResource, "before_import", delete_store_after_reading_it)

    upload = services.confirm_product_upload(upload=upload, user=staff)

    assert upload.status == ProductUpload.Status.FAILED
    assert "Nothing was imported" in upload.row_errors[0]["message"]
    assert (Product.objects.count(), ProductPriceChange.objects.count(), Product.history.count()) == (0, 0, 0)


# File errors: refused before anything is stored.


def _refused(upload_file, staff):
    before = (database_state(), ProductUpload.objects.count())
    with pytest.raises(ValidationError) as caught:
        services.preview_product_upload(upload_file, user=staff)
    assert (database_state(), ProductUpload.objects.count()) == before
    return " ".join(caught.value.messages)


def test_empty_file_is_refused(store, staff):
    assert _refused(SimpleUploadedFile("products.csv", b""), staff) == "The file is empty."


def test_header_only_file_is_refused(store, staff):
    assert _refused(csv_file(""), staff) == "The file has a header row but no products."


def test_wrong_columns_are_named(store, staff):
    message = _refused(csv_file("main-store,A1,1.00\n", header="store,code,cost\n"), staff)

    assert message.startswith("Wrong columns (missing sku, name, price; unknown code, cost).")


def test_duplicate_columns_are_refused(store, staff):
    message = _refused(csv_file("main-store,A1,A,1,2\n", header="store,sku,name,price,price\n"), staff)

    assert message == "Columns appear more than once: price."


def test_wrong_encoding_is_refused_with_a_hint(store, staff):
    message = _refused(csv_file("main-store,A1,Crème brûlée,1.00,1,yes\n", encoding="latin-1"), staff)

    assert "not UTF-8" in message
    assert "CSV UTF-8" in message


def test_utf16_csv_is_refused_with_a_hint(store, staff):
    message = _refused(csv_file("main-store,A1,Apple,1.00,1,yes\n", encoding="utf-16"), staff)

    assert "UTF-16 text, not UTF-8" in message


def test_non_csv_renamed_csv_is_refused(store, staff):
    message = _refused(SimpleUploadedFile("products.csv", placeholder_png().read()), staff)

    assert message.startswith("This is not a CSV text file (it looks like a PNG image).")


def test_xlsx_renamed_csv_is_refused(store, staff):
    workbook = xlsx_file([["store", "sku", "name", "price"]])

    message = _refused(SimpleUploadedFile("products.csv", workbook.read()), staff)

    assert "ZIP archive or Excel workbook" in message


def test_text_renamed_xlsx_is_refused(store, staff):
    message = _refused(csv_file("main-store,A1,A,1.00,1,yes\n", name="products.xlsx"), staff)

    assert message.startswith("This is not a real Excel .xlsx workbook.")


def test_other_extensions_are_refused(store, staff):
    assert _refused(csv_file("main-store,A1,A,1.00,1,yes\n", name="products.txt"), staff).startswith(
        "Upload a .csv or .xlsx file"
    )


def test_ragged_row_is_refused(store, staff):
    assert _refused(csv_file("main-store,A1,Apple\n"), staff) == "Row 2 has 3 values but the header has 6 columns."


def test_fifty_megabyte_file_is_refused(store, staff):
    row = "main-store,SKU,Name,1.00,1,yes\n"
    big = csv_file(row * (50 * 1024 * 1024 // len(row) + 1))

    message = _refused(big, staff)

    assert message == "The file is 50.0 MB; the limit is 20 MB. Split it into smaller files."


def test_file_without_declared_size_is_still_limited(monkeypatch):
    monkeypatch.setattr(product_files, "MAX_PRODUCT_FILE_BYTES", 100)
    stream = io.BytesIO((HEADER + "main-store,A,B,1,1,yes\n" * 10).encode())
    stream.name = "products.csv"

    with pytest.raises(ValidationError, match="larger than"):
        product_files.read_product_file(stream)


# Races


@pytest.mark.django_db(transaction=True)
def test_two_confirms_at_once_import_once(on_postgres):
    StoreFactory(slug="main-store")
    staff = admin()
    upload = services.preview_product_upload(csv_file("main-store,A1,Apple,1.00,1,yes\n"), user=staff)
    outcomes = []

    def confirm():
        from django.db import connection

        try:
            outcomes.append(services.confirm_product_upload(upload=upload, user=staff).status)
        except services.UploadNotConfirmable:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=confirm) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["imported", "refused"]
    assert ProductPriceChange.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_uploads_creating_the_same_sku_at_once_serialize_and_both_import(on_postgres):
    StoreFactory(slug="main-store")
    staff = admin()
    uploads = [
        services.preview_product_upload(
            csv_file(f"main-store,N{n},Only mine {n},1.00,1,yes\nmain-store,SHARED,Shared,{n}.00,1,yes\n"), user=staff
        )
        for n in (1, 2)
    ]
    results, errors = run_in_threads(2, lambda n: services.confirm_product_upload(upload=uploads[n], user=staff))
    assert errors == []
    assert sorted(upload.status for upload in results) == ["imported", "imported"]
    assert Product.objects.filter(sku="SHARED").count() == 1
    assert Product.objects.filter(sku__startswith="N").count() == 2
    assert_price_history_chains()


def assert_price_history_chains():
    """Every price change starts from the price the one before it set (the first from nothing)."""
    broken, last = [], {}
    changes = ProductPriceChange.objects.order_by("product_id", "pk").values_list(
        "product_id", "old_price", "new_price"
    )
    for product_id, old_price, new_price in changes:
        if old_price != last.get(product_id):
            broken.append((product_id, last.get(product_id), old_price, new_price))
        last[product_id] = new_price
    prices = dict(Product.objects.values_list("pk", "price"))
    assert broken == [] and last == prices


def overlapping_uploads(count, products=300):
    """`count` previewed uploads of the same SKUs at different prices, every other one in the opposite row order."""
    StoreFactory(slug="main-store")
    staff = admin()
    preview_and_confirm(csv_file("".join(f"main-store,S{i},P{i},10.00,1,yes\n" for i in range(products))), staff)
    uploads = []
    for n in range(count):
        rows = [f"main-store,S{i},P{i},{11 + n}.00,1,yes\n" for i in range(products)]
        uploads.append(services.preview_product_upload(csv_file("".join(rows[:: -1 if n % 2 else 1])), user=staff))
    return uploads, staff


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("count", [2, 8])
def test_overlapping_uploads_serialize_and_every_old_price_is_the_price_just_before(on_postgres, count):
    uploads, staff = overlapping_uploads(count)
    results, errors = run_in_threads(count, lambda n: services.confirm_product_upload(upload=uploads[n], user=staff))
    assert errors == []
    assert [upload.status for upload in results] == ["imported"] * count, [u.row_errors[:1] for u in results]
    assert ProductPriceChange.objects.count() == 300 * (count + 1)
    assert_price_history_chains()


@pytest.mark.django_db(transaction=True)
def test_an_upload_that_cannot_get_its_rows_in_time_fails_whole_with_a_clear_message(on_postgres, settings):
    settings.PRODUCT_UPLOAD_LOCK_TIMEOUT_MS = 200
    (upload,), staff = overlapping_uploads(1, products=5)
    before = database_state()
    held = threading.Event()

    def hold_a_product_row():
        from django.db import transaction

        with transaction.atomic():
            Product.objects.select_for_update().filter(sku="S3").get()
            held.set()
            time.sleep(1.5)

    def confirm():
        held.wait(5)
        return services.confirm_product_upload(upload=upload, user=staff)

    results, errors = run_in_threads(2, lambda n: (hold_a_product_row, confirm)[n]())
    assert errors == []
    failed = next(result for result in results if result is not None)
    assert failed.status == ProductUpload.Status.FAILED
    assert failed.row_errors == [{"row": None, "column": None, "message": UploadLockLost.message}]
    assert database_state() == before
