"""django-import-export resources: product import/export keyed on store + SKU, and app export.

The product import is built for 100k-row files: stores and existing products are loaded once
per file (no query per row), rows are written with bulk_create/bulk_update (with their history),
and the html diff is skipped. Each row is cleaned here so errors name the row and the column.
"""

import csv
import io
from decimal import Decimal, InvalidOperation
from itertools import chain

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from import_export import fields, resources
from import_export.results import RowResult
from import_export.widgets import ForeignKeyWidget

from .models import App, Category, Product, ProductPriceChange, Store

PRODUCT_COLUMNS = ("store", "sku", "name", "price", "stock", "active")
REQUIRED_PRODUCT_COLUMNS = ("store", "sku", "name", "price")
PREVIEW_LIMIT = 200
TRUE_WORDS = {"1", "true", "yes", "y", "t"}
FALSE_WORDS = {"0", "false", "no", "n", "f"}
MAX_PRICE = Decimal("9999999999.99")
CENT = Decimal("0.01")
PREFETCH_BY_SKU_LIMIT = 5000
PROGRESS_EVERY_ROWS = 1000  # how often an import tells its `progress` callback how many rows it has read


WRITTEN_TABLES = [model._meta.db_table for model in (Product, Product.history.model, ProductPriceChange)]


def spreadsheet_row(row_number):
    """import-export counts data rows from 1; people count the header as row 1."""
    return row_number + 1


class ProductResource(resources.ModelResource):
    """Products keyed on store + SKU.

    `import_row` is a lean version of import-export's: no model instance per row, just the cleaned values, so a
    100k-row file stays fast. The rows are written once, after the whole file was read (COPY on PostgreSQL,
    bulk_create/bulk_update elsewhere), together with their history records and price changes.
    A dry run writes nothing: every check but database constraints happens while reading the rows, and the
    confirm step, which does write, is all-or-nothing.
    """

    store = fields.Field(attribute="store", column_name="store", widget=ForeignKeyWidget(Store, "slug"))

    class Meta:
        model = Product
        fields = PRODUCT_COLUMNS
        export_order = PRODUCT_COLUMNS
        import_id_fields = ("store", "sku")
        use_bulk = True
        batch_size = None
        skip_diff = True
        clean_model_instances = False
        use_transactions = True
        report_skipped = False

    def __init__(self, uploaded_by=None, change_reason="Bulk upload", progress=None, **kwargs):
        super().__init__(**kwargs)
        self.uploaded_by = uploaded_by
        self.progress = progress  # optional: called with the number of rows read so far (a progress bar's)
        self.change_reason = change_reason[:100]
        self.preview_rows = []
        self.creates = []
        self.updates = []

    def get_queryset(self):
        return Product.objects.select_related("store")

    # Reading: stores and existing products are loaded once per file.

    def before_import(self, dataset, dry_run=False, **kwargs):
        """Load the file's stores and existing products. Confirming (not a dry run) first locks them: the stores'
        upload locks in store order, then the product rows in (store, sku) order, so the old prices read here are
        the prices just before this write, concurrent uploads serialize instead of deadlocking, and one that waits
        longer than PRODUCT_UPLOAD_LOCK_TIMEOUT_MS gives up with a clear message (see UploadLockLost)."""
        self.stores, self.existing, self.first_seen, self.lock_lost = {}, {}, {}, False
        slugs = {_text(slug) for slug in dataset["store"]}
        stores = {store.slug: store for store in Store.objects.filter(slug__in=slugs)}
        existing = Product.objects.filter(store__in=stores.values())
        skus = {_text(sku) for sku in dataset["sku"]}
        if len(skus) <= PREFETCH_BY_SKU_LIMIT:
            existing = existing.filter(sku__in=skus)
        if not dry_run:
            try:
                _lock_stores_for_upload(sorted(store.pk for store in stores.values()))
                existing = existing.order_by("store_id", "sku").select_for_update()
                existing = list(existing.values_list("pk", "store_id", "sku", "name", "price", "stock", "active"))
            except DatabaseError as exc:
                self.lock_lost = True
                raise UploadLockLost() from exc
        else:
            existing = existing.values_list("pk", "store_id", "sku", "name", "price", "stock", "active").iterator(
                chunk_size=10_000
            )
        self.stores = stores
        self.existing = {
            (store_id, sku): (pk, name, price, stock, active)
            for pk, store_id, sku, name, price, stock, active in existing
        }

    def import_row(self, row, instance_loader, **kwargs):
        if self.progress is not None and kwargs["row_number"] % PROGRESS_EVERY_ROWS == 0:
            self.progress(kwargs["row_number"])
        row_number = spreadsheet_row(kwargs["row_number"])
        row_result = self.get_row_result_class()()
        if self.lock_lost:  # nothing will be written: the file-level error says why
            row_result.import_type = RowResult.IMPORT_TYPE_SKIP
            return row_result
        try:
            store, sku, name, price, stock, active = self.clean_row(row, row_number)
        except ValidationError as error:
            row_result.import_type = RowResult.IMPORT_TYPE_INVALID
            row_result.validation_error = error
            return row_result
        old = self.existing.get((store.pk, sku))
        if old is None:
            self.creates.append(
                (store.pk, sku, name, price, 0 if stock is None else stock, True if active is None else active)
            )
            row_result.import_type = RowResult.IMPORT_TYPE_NEW
        else:
            pk, old_name, old_price, old_stock, old_active = old
            new = (name, price, old_stock if stock is None else stock, old_active if active is None else active)
            if new == (old_name, old_price, old_stock, old_active):
                row_result.import_type = RowResult.IMPORT_TYPE_SKIP
                return row_result
            self.updates.append((pk, store.pk, sku, *new, old_price))
            row_result.import_type = RowResult.IMPORT_TYPE_UPDATE
        if len(self.preview_rows) < PREVIEW_LIMIT:
            self.preview_rows.append(
                {
                    "row": row_number,
                    "action": "create" if old is None else "update",
                    "store": store.slug,
                    "sku": sku,
                    "name": name,
                    "old_price": None if old is None else str(old[2]),
                    "new_price": str(price),
                }
            )
        return row_result

    def clean_row(self, row, row_number):
        """Every bad column of the row in one ValidationError, keyed by column name."""
        errors = {}
        store = price = stock = active = None
        slug, sku, name, price_text, stock_text, active_text = [_text(row.get(column)) for column in PRODUCT_COLUMNS]
        if not slug:
            errors["store"] = "Store is required."
        elif slug not in self.stores:
            errors["store"] = f"Unknown store '{slug[:64]}'."
        else:
            store = self.stores[slug]
        if not sku:
            errors["sku"] = "SKU is required."
        elif len(sku) > 64:
            errors["sku"] = "SKU is longer than 64 characters."
        else:
            first = self.first_seen.setdefault((slug, sku), row_number)
            if first != row_number:
                errors["sku"] = (
                    f"SKU '{sku}' of store '{slug}' is already on row {first}; each product may appear once."
                )
        if not name:
            errors["name"] = "Name is required."
        elif len(name) > 200:
            errors["name"] = "Name is longer than 200 characters."
        try:
            price = _price(price_text)
        except ValueError as exc:
            errors["price"] = str(exc)
        if stock_text:
            try:
                stock = _stock(stock_text)
            except ValueError as exc:
                errors["stock"] = str(exc)
        if active_text:
            try:
                active = _boolean(active_text)
            except ValueError as exc:
                errors["active"] = str(exc)
        if errors:
            raise ValidationError(errors)
        return store, sku, name, price, stock, active

    # Writing: once, after every row was read.

    def bulk_create(self, using_transactions, dry_run, raise_errors, batch_size=None, result=None):
        if dry_run or not (self.creates or self.updates) or result.has_validation_errors() or result.has_errors():
            return
        try:
            writer = PostgresProductWriter if connection.vendor == "postgresql" else OrmProductWriter
            # Own savepoint: a failed write (e.g. a concurrent upload of the same SKU) leaves the transaction usable.
            with transaction.atomic():
                writer(self.uploaded_by, self.change_reason).write(self.creates, self.updates)
                # Foreign keys are checked here, inside the savepoint, not at commit: a store deleted meanwhile
                # then fails the upload with a message instead of failing the commit.
                connection.check_constraints(table_names=WRITTEN_TABLES)
        except Exception as exc:
            self.handle_import_error(result, exc, raise_errors)

    def bulk_update(self, using_transactions, dry_run, raise_errors, batch_size=None, result=None):
        """Updates are written together with creates in bulk_create."""

    def bulk_delete(self, using_transactions, dry_run, raise_errors, result=None):
        """Uploads never delete products."""

    def after_import(self, dataset, result, **kwargs):
        """Nothing to do: no explicit primary keys are imported, so no sequence needs resetting."""


class UploadLockLost(Exception):
    """Another upload or edit held these products too long, or the database chose this upload to give way."""

    message = (
        "Another upload or edit of the same products was running and this one could not wait for it. "
        "Nothing was imported; confirm the upload again in a moment."
    )

    def __init__(self):
        super().__init__(self.message)


# Transaction-scoped advisory lock namespace for "a product upload writes this store" (first key of the pair).
UPLOAD_LOCK_NAMESPACE = 0x5055  # "PU"
LOST_RACE_SQLSTATES = {"55P03", "40001", "40P01"}  # lock_not_available, serialization_failure, deadlock_detected


def _lock_stores_for_upload(store_ids):
    """PostgreSQL: wait (at most PRODUCT_UPLOAD_LOCK_TIMEOUT_MS) for every other upload of these stores, in id order."""
    if connection.vendor != "postgresql":
        return  # SQLite serializes writers itself
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{settings.PRODUCT_UPLOAD_LOCK_TIMEOUT_MS}ms"])
        for store_id in store_ids:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [UPLOAD_LOCK_NAMESPACE, store_id])


def lost_a_race(error):
    """A lock timeout, serialization failure or deadlock, however it was wrapped."""
    while error is not None:
        if isinstance(error, UploadLockLost):
            return True
        if str(getattr(error, "sqlstate", None) or getattr(getattr(error, "diag", None), "sqlstate", "")) in (
            LOST_RACE_SQLSTATES
        ):
            return True
        error = error.__cause__
    return False


class OrmProductWriter:
    """Any database: bulk_create/bulk_update with simple-history's bulk history records.

    `creates` are (store_id, sku, name, price, stock, active); `updates` are (pk, the same six, old price).
    A new product's first price is a price change too (from nothing), so the price history is complete.
    """

    batch_size = 500

    def __init__(self, user, change_reason):
        self.user, self.change_reason = user, change_reason

    def write(self, creates, updates):
        now = timezone.now()
        created = [
            Product(store_id=store_id, sku=sku, name=name, price=price, stock=stock, active=active, updated_at=now)
            for store_id, sku, name, price, stock, active in creates
        ]
        Product.objects.bulk_create(created, batch_size=self.batch_size)
        updated = [
            Product(
                pk=pk, store_id=store_id, sku=sku, name=name, price=price, stock=stock, active=active, updated_at=now
            )
            for pk, store_id, sku, name, price, stock, active, _old_price in updates
        ]
        Product.objects.bulk_update(
            updated, ["name", "price", "stock", "active", "updated_at"], batch_size=self.batch_size
        )
        history = {"default_user": self.user, "default_change_reason": self.change_reason, "default_date": now}
        Product.history.bulk_history_create(created, batch_size=self.batch_size, **history)
        Product.history.bulk_history_create(updated, batch_size=self.batch_size, update=True, **history)
        price_changes = [(product.pk, None, product.price) for product in created]
        price_changes += [
            (pk, old_price, price) for pk, _, _, _, price, _, _, old_price in updates if price != old_price
        ]
        ProductPriceChange.objects.bulk_create(
            (
                ProductPriceChange(
                    product_id=pk, old_price=old, new_price=new, source=ProductPriceChange.Source.UPLOAD, changed_at=now
                )
                for pk, old, new in price_changes
            ),
            batch_size=self.batch_size,
        )


class PostgresProductWriter(OrmProductWriter):
    """PostgreSQL: the rows cross the wire once, by COPY into a temporary table (which writes no WAL); the products,
    their history records and price changes are then written from it by the server alone. Primary keys of new
    products are drawn from the table's sequence first, so every row knows its product."""

    def write(self, creates, updates):
        now = timezone.now()
        product_table = Product._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [product_table])
            cursor.execute(
                "SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [cursor.fetchone()[0], len(creates)]
            )
            new_ids = [pk for (pk,) in cursor.fetchall()]
            cursor.execute(
                "CREATE TEMPORARY TABLE product_upload_rows (id bigint, store_id bigint, sku text, name text, "
                "price numeric(12, 2), stock integer, active boolean, old_price numeric(12, 2), is_new boolean) "
                "ON COMMIT DROP"
            )
            _copy_csv(
                cursor,
                "product_upload_rows",
                chain(
                    ((pk, *values, None, True) for pk, values in zip(new_ids, creates, strict=True)),
                    ((*values, False) for values in updates),
                ),
            )
            columns = "id, store_id, sku, name, price, stock, active"
            cursor.execute(
                f"INSERT INTO {product_table} ({columns}, updated_at) "
                f"SELECT {columns}, %s FROM product_upload_rows WHERE is_new ORDER BY id",
                [now],
            )
            cursor.execute(
                f"UPDATE {product_table} AS p SET name = r.name, price = r.price, stock = r.stock, active = r.active, "
                "updated_at = %s FROM product_upload_rows AS r WHERE NOT r.is_new AND p.id = r.id",
                [now],
            )
            cursor.execute(
                f"INSERT INTO {Product.history.model._meta.db_table} ({columns}, updated_at, history_date, "
                "history_change_reason, history_type, history_user_id) "
                f"SELECT {columns}, %s, %s, %s, CASE WHEN is_new THEN '+' ELSE '~' END, %s FROM product_upload_rows",
                [now, now, self.change_reason, getattr(self.user, "pk", None)],
            )
            cursor.execute(
                f"INSERT INTO {ProductPriceChange._meta.db_table} "
                "(product_id, old_price, new_price, source, changed_at) "
                "SELECT id, old_price, price, %s, %s FROM product_upload_rows WHERE is_new OR price <> old_price",
                [ProductPriceChange.Source.UPLOAD, now],
            )
            cursor.execute("DROP TABLE product_upload_rows")


def _copy_csv(cursor, target, rows, chunk_rows=20_000):
    """COPY rows in CSV format, written by the C csv module (None and '' both become NULL: no column here
    may be an empty string)."""
    with cursor.copy(f"COPY {target} FROM STDIN WITH (FORMAT csv)") as copy:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        pending = 0
        for row in rows:
            writer.writerow(row)
            pending += 1
            if pending == chunk_rows:
                copy.write(buffer.getvalue())
                buffer.seek(0)
                buffer.truncate()
                pending = 0
        if pending:
            copy.write(buffer.getvalue())


class AppResource(resources.ModelResource):
    category = fields.Field(attribute="category", column_name="category", widget=ForeignKeyWidget(Category, "slug"))
    subcategory = fields.Field(
        attribute="subcategory", column_name="subcategory", widget=ForeignKeyWidget(Category, "slug")
    )

    class Meta:
        model = App
        fields = ("name", "slug", "category", "subcategory", "points_reward", "credit_price", "active", "created_at")
        export_order = fields

    def get_queryset(self):
        return App.objects.select_related("category", "subcategory")


def _text(value):
    if type(value) is str:
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _price(text):
    if not text:
        raise ValueError("Price is required.")
    try:
        price = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"Price must be a number like 19.99 (got '{text[:30]}').") from None
    if not price.is_finite():
        raise ValueError(f"Price must be a number like 19.99 (got '{text[:30]}').")
    if price < 0:
        raise ValueError(f"Price cannot be negative (got {text}).")
    if price > MAX_PRICE:
        raise ValueError(f"Price is too large (got {text}).")
    cents = price.quantize(CENT)
    if price != cents:
        raise ValueError(f"Price can have at most 2 decimal places (got {text}).")
    return cents


def _stock(text):
    try:
        stock = int(text)
    except ValueError:
        raise ValueError(f"Stock must be a whole number (got '{text[:30]}').") from None
    if stock < 0:
        raise ValueError(f"Stock cannot be negative (got {text}).")
    if stock > 2_147_483_647:
        raise ValueError(f"Stock is too large (got {text}).")
    return stock


def _boolean(text):
    text = text.lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValueError(f"Active must be yes or no (got '{text[:30]}').")
