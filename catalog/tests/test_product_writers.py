"""The PostgreSQL writer is raw SQL over simple-history's columns: it must write, row for row, what the ORM writer
(bulk_create + simple-history's bulk_history_create) writes, for creates and for updates. Every column of the
three tables is compared, found from the models, so a column added to the product (and so to its history) that
the raw SQL leaves out fails here."""

import bisect
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from backoffice.tests.factories import admin
from catalog import resources, services
from catalog.models import Product, ProductPriceChange, Store
from catalog.tests.factories import ProductFactory, StoreFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

HEADER = "store,sku,name,price,stock,active\n"
CREATES = (
    "main-store,A1,Apple,1.00,3,yes\n"
    'main-store,B2,"Bread, ""white""",2.50,,\n'
    "main-store,C3,Crème brûlée \\ dessert,0.00,0,no\n"
    'outlet,"D,4",Dates,10,7,yes\n'
    "main-store,OLD,Old name,5.00,,\n"  # updates the product made before the first upload
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


def upload_twice_with(writer, monkeypatch, staff):
    """Both uploads through the services with `writer`; the tables after each; then everything rolled back."""
    monkeypatch.setattr(resources, "product_writer", lambda: writer)
    after, upload_starts = [], []
    with transaction.atomic():
        ProductFactory(store=Store.objects.get(slug="main-store"), sku="OLD", name="Before", price="4.00", stock=2)
        for body in (CREATES, UPDATES):
            upload_starts.append(timezone.now())
            upload = services.preview_product_upload(
                SimpleUploadedFile("products.csv", (HEADER + body).encode()), user=staff
            )
            upload = services.confirm_product_upload(upload, user=staff)
            assert upload.status == "imported", upload.row_errors
            after.append(snapshot(upload_starts))
        transaction.set_rollback(True)
    return after


@pytest.fixture
def staff():
    StoreFactory(slug="main-store")
    StoreFactory(slug="outlet", name="Outlet")
    return admin()


def test_copy_writer_writes_what_the_orm_writer_writes_row_for_row(on_postgres, monkeypatch, staff):
    by_orm = upload_twice_with(resources.OrmProductWriter, monkeypatch, staff)
    by_copy = upload_twice_with(resources.PostgresProductWriter, monkeypatch, staff)

    for upload, (copied, written) in enumerate(zip(by_copy, by_orm, strict=True), start=1):
        for table, rows in written.items():
            assert copied[table] == rows, f"upload {upload}, {table}"
    history = by_orm[1]["historicalproduct"]
    assert {(row["id"], row["history_type"]) for row in history} >= {("A1", "+"), ("A1", "~"), ("E5", "+")}
    assert len(by_orm[1]["productpricechange"]) == 8  # A1, B2, C3, D,4 first; OLD 4 -> 5; A1, D,4; E5 first
