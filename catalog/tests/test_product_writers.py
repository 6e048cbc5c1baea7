"""The PostgreSQL path checks the rows in SQL and writes them with raw SQL over simple-history's columns: it must
write, row for row, what the Python path and the ORM writer (bulk_create + simple-history's bulk_history_create)
write, for creates and for updates, whether its confirm writes the rows its preview checked (ProductUploadCheck) or
checks the file again, and refuse a bad file with the same errors, writing nothing. Every column of
the three tables is compared, found from the models, so a column added to the product (and so to its history)
that the raw SQL leaves out fails here."""

import bisect
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from backoffice.tests.factories import admin
from catalog import resources, services
from catalog.models import Product, ProductPriceChange, ProductUploadCheck, Store
from catalog.tests.factories import ProductFactory, StoreFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

HEADER = "store,sku,name,price,stock,active\n"
CREATES = (
    "main-store,A1,Apple,1.00,3,yes\n"
    'main-store,B2,"Bread, ""white""",2.50,,\n'
    "main-store,C3,Crème brûlée \\ dessert,0.00,0,no\n"
    'outlet,"D,4",Dates,10,7,yes\n'
    "main-store,OLD,Old name,5.00,,\n"  # updates the product made before the first upload
    # Values SQL's fast tests leave to Python's parsing (Unicode digits, underscores, a sign, an exponent,
    # a non-breaking space): accepted as the Python path accepts them.
    "main-store,U1,Unicode digits,\u0661\u0662.50,\u0663,YES\n"
    "main-store,U2,Underscores,1_000.00,1_0,n\n"
    "main-store,U3,Signed,+1e2,+4,T\n"
    "main-store,U4,\u00a0Spaced\u00a0,\u00a07.25 ,\u2003 5,\u3000no\n"
    "main-store,U5,Minus zero,-0,0,0\n"
)
UPDATES = (
    "main-store,A1,Apple,1.10,3,yes\n"  # price changed
    'main-store,B2,"Bread, ""brown""",2.50,,\n'  # name changed, price not: no price change
    "main-store,C3,Crème brûlée \\ dessert,0.00,0,no\n"  # unchanged: skipped
    'outlet,"D,4",Dates,9.99,,\n'  # stock and active kept
    "main-store,E5,Eggs,3.20,12,yes\n"  # created by the second upload
)


def compared(model, row, sku_of, upload_starts):
    """A row's every column; a product id as its SKU, a row's own id as None (they differ between the runs by
    construction), a timestamp as the number of the upload that wrote it (the ORM's auto_now stamps its own
    time within the upload: only which upload wrote a row is the same in both runs)."""
    values = {}
    for field in model._meta.concrete_fields:
        value = row[field.attname]
        if field.primary_key and model is not Product:
            value = None
        elif field.attname in ("id", "product_id"):
            value = sku_of[value]
        elif field.get_internal_type() == "DateTimeField":
            value = bisect.bisect(upload_starts, value)
        elif field.attname == "history_change_reason" and value:
            value = re.sub(r"#\d+", "#n", value)  # the upload's number
        values[field.attname] = value
    return values


def snapshot(upload_starts):
    """Every row of the three tables, compared as `compared` says, in a stable order."""
    sku_of = dict(Product.objects.values_list("pk", "sku"))
    return {
        model._meta.model_name: sorted(
            (compared(model, row, sku_of, upload_starts) for row in model._default_manager.values()), key=repr
        )
        for model in (Product, Product.history.model, ProductPriceChange)
    }


def upload_twice_with(writer, monkeypatch, staff, recheck=False):
    """Both uploads through the services with `writer`; the tables after each; then everything rolled back. On the
    SQL path the confirm writes the rows its preview checked, or, with `recheck`, checks the file again."""
    monkeypatch.setattr(resources, "product_writer", lambda: writer)
    after, upload_starts = [], []
    with transaction.atomic():
        ProductFactory(store=Store.objects.get(slug="main-store"), sku="OLD", name="Before", price="4.00", stock=2)
        for body in (CREATES, UPDATES):
            upload_starts.append(timezone.now())
            upload = services.preview_product_upload(
                SimpleUploadedFile("products.csv", (HEADER + body).encode()), user=staff
            )
            kept = ProductUploadCheck.objects.filter(upload=upload)
            assert kept.exists() == writer.checks_in_sql
            if recheck:
                kept.delete()
            upload = services.confirm_product_upload(upload=upload, user=staff)
            assert upload.status == "imported", upload.row_errors
            after.append(snapshot(upload_starts))
        transaction.set_rollback(True)
    return after


@pytest.fixture
def staff():
    StoreFactory(slug="main-store")
    StoreFactory(slug="outlet", name="Outlet")
    return admin()


def test_sql_path_writes_what_the_python_path_and_orm_writer_write_row_for_row(on_postgres, monkeypatch, staff):
    by_orm = upload_twice_with(resources.OrmProductWriter, monkeypatch, staff)
    by_sql = upload_twice_with(resources.SqlProductWriter, monkeypatch, staff)
    by_sql_rechecked = upload_twice_with(resources.SqlProductWriter, monkeypatch, staff, recheck=True)

    for path, by_path in (("previewed rows", by_sql), ("checked again", by_sql_rechecked)):
        for upload, (copied, written) in enumerate(zip(by_path, by_orm, strict=True), start=1):
            for table, rows in written.items():
                assert copied[table] == rows, f"{path}: upload {upload}, {table}"
    history = by_orm[1]["historicalproduct"]
    assert {(row["id"], row["history_type"]) for row in history} >= {("A1", "+"), ("A1", "~"), ("E5", "+")}
    # A1, B2, C3, D,4, U1-U5 first; OLD 4 -> 5; A1, D,4; E5 first
    assert len(by_orm[1]["productpricechange"]) == 13


# Bad files: refused by the SQL path with the Python path's errors, row for row, and nothing written.

LONG_SKU, LONG_NAME = "S" * 65, "N" * 201
BAD_FILES = {
    "wrong types": (
        "main-store,A1,Apple,abc,many,perhaps\n"
        "main-store,A2,Apple,1.005,1.5,2\n"
        "main-store,A3,Apple,NaN,-1,yes\n"
        "main-store,A4,Apple,Infinity,\u0661x,\n"
        "main-store,A5,Apple,1e999999,99999999999999999999,\n"
    ),
    "missing fields": "main-store,,Apple,1.00,,\n,B1,Bread,2.00,,\nmain-store,C1,,,,\n \u00a0,\u2003,\t,\u3000,,\n",
    "duplicates": (
        "main-store,A1,Apple,1.00,1,yes\nmain-store,A1,Apple,2.00,1,yes\nmain-store, A1 ,Apple,3.00,1,yes\n"
        "outlet,A1,Apple,1.00,1,yes\nnowhere,Z,Zed,1.00,1,yes\nnowhere,Z,Zed,1.00,1,yes\n"
    ),
    "hostile values": (
        '"main-store","=cmd|\'/c calc\'!A1","\\.",1.00,1,yes\n'
        'main-store,"Q""1","multi\nline\r\nname",1.00,1,yes\n'
        "main-store,'; DROP TABLE catalog_product; --,Bobby,1.00,1,yes\n"
        "main-store\u200b,A9,Zero-width space,1.00,1,yes\n"
        "'main-store',A8,Quoted store,-0.01,1,yes\n"
    ),
    "oversize": (
        f"main-store,{LONG_SKU},Long sku,1.00,1,yes\nmain-store,L2,{LONG_NAME},1.00,1,yes\n"
        "main-store,L3,Price,10000000000.00,2147483648,yes\n"
        f"main-store,L4,Digits,{'9' * 50},{'9' * 40},yes\n"
        f"{'x' * 100},L5,Store,1.00,1,yes\n"
    ),
}


def preview_with(writer, monkeypatch, staff, body):
    monkeypatch.setattr(resources, "product_writer", lambda: writer)
    upload = services.preview_product_upload(SimpleUploadedFile("products.csv", (HEADER + body).encode()), user=staff)
    return upload.status, upload.row_errors, upload.error_rows


def tables():
    return snapshot([timezone.now()])


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_sql_path_refuses_a_bad_file_with_the_python_paths_errors_and_writes_nothing(
    on_postgres, monkeypatch, staff, kind
):
    body = "main-store,GOOD,Fine,1.00,1,yes\n" + BAD_FILES[kind]
    before = tables()

    by_sql = preview_with(resources.SqlProductWriter, monkeypatch, staff, body)
    by_python = preview_with(resources.OrmProductWriter, monkeypatch, staff, body)

    assert by_sql[0] == "failed"
    assert by_sql[1] and all(error["row"] for error in by_sql[1])
    assert by_sql == by_python
    assert tables() == before


def test_sql_confirm_of_a_file_that_went_bad_since_its_preview_writes_nothing(on_postgres, monkeypatch, staff):
    """The confirm checks again: a previewed file whose rows are now bad (the store renamed) writes nothing."""
    monkeypatch.setattr(resources, "product_writer", lambda: resources.SqlProductWriter)
    body = "".join(f"main-store,G{i},Good {i},{i}.00,1,yes\n" for i in range(20))
    upload = services.preview_product_upload(SimpleUploadedFile("products.csv", (HEADER + body).encode()), user=staff)
    assert upload.status == "previewed", upload.row_errors
    Store.objects.filter(slug="main-store").update(slug="renamed")
    before = tables()

    upload = services.confirm_product_upload(upload=upload, user=staff)

    assert upload.status == "failed"
    assert len(upload.row_errors) == 20
    assert tables() == before


def test_sql_writer_puts_the_sessions_work_mem_back_after_writing(on_postgres, monkeypatch, staff, settings):
    """The writer gives its statements PRODUCT_UPLOAD_WORK_MEM_MB; the rest of the transaction keeps the session's."""
    from django.db import connection

    settings.PRODUCT_UPLOAD_WORK_MEM_MB = 7
    monkeypatch.setattr(resources, "product_writer", lambda: resources.SqlProductWriter)
    seen = []
    write = resources.SqlProductWriter.write

    def spied(writer, rows):
        write(writer, rows)
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('work_mem')")
            seen.append(cursor.fetchone()[0])

    monkeypatch.setattr(resources.SqlProductWriter, "write", spied)
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('work_mem', '5MB', true)")  # until the test's transaction ends
    upload = services.preview_product_upload(
        SimpleUploadedFile("products.csv", (HEADER + "main-store,A1,Apple,1.00,1,yes\n").encode()), user=staff
    )

    upload = services.confirm_product_upload(upload=upload, user=staff)

    assert upload.status == "imported"
    assert seen == ["5MB"]
