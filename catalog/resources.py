"""django-import-export resources: product import/export keyed on store + SKU, and app export.

The product import is built for 100k-row files: stores and existing products are loaded once per file (no query
per row), and each row is checked and handed to the writer as it is read, so on PostgreSQL the rows stream to the
server (COPY) while the next ones are checked. Each row is cleaned here so errors name the row and the column.
"""

import queue
import re
import threading
from collections import deque
from contextlib import closing
from decimal import Decimal, InvalidOperation
from itertools import islice
from operator import itemgetter

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
BOOLEAN_WORDS = {**dict.fromkeys(TRUE_WORDS, True), **dict.fromkeys(FALSE_WORDS, False)}
MAX_PRICE = Decimal("9999999999.99")
MAX_STOCK = 2_147_483_647
CENT = Decimal("0.01")
PREFETCH_BY_SKU_LIMIT = 5000
NEW, UPDATE, SKIP = RowResult.IMPORT_TYPE_NEW, RowResult.IMPORT_TYPE_UPDATE, RowResult.IMPORT_TYPE_SKIP
PROGRESS_EVERY_ROWS = 1000  # how often an import tells its `progress` callback how many rows it has read


WRITTEN_TABLES = [model._meta.db_table for model in (Product, Product.history.model, ProductPriceChange)]


def spreadsheet_row(row_number):
    """import-export counts data rows from 1; people count the header as row 1."""
    return row_number + 1


class ProductResource(resources.ModelResource):
    """Products keyed on store + SKU.

    The import replaces import-export's row loop (`import_data_inner`): no model instance or RowResult per row,
    just the cleaned values, handed one by one to the writer (`product_writer()`), which writes each product, one
    history record and one price change per written row. import_data's transaction handling is kept: a dry run
    writes nothing (every check but database constraints happens while reading the rows), and the confirm step,
    which does write, is all-or-nothing.
    """

    store = fields.Field(attribute="store", column_name="store", widget=ForeignKeyWidget(Store, "slug"))

    class Meta:
        model = Product
        fields = PRODUCT_COLUMNS
        export_order = PRODUCT_COLUMNS
        import_id_fields = ("store", "sku")
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

    def get_queryset(self):
        return Product.objects.select_related("store")

    # Reading: stores and existing products are loaded once per file.

    def before_import(self, dataset, dry_run=False, **kwargs):
        """Load the file's stores and existing products. Confirming (not a dry run) first locks them: the stores'
        upload locks in store order, then the product rows in (store, sku) order, so the old prices read here are
        the prices just before this write, concurrent uploads serialize instead of deadlocking, and one that waits
        longer than PRODUCT_UPLOAD_LOCK_TIMEOUT_MS gives up with a clear message (see UploadLockLost).
        Also counts the products the file would create, so the writer can draw their ids before it streams."""
        self.stores, self.existing, self.new_products = {}, {}, 0
        keys = set()
        for slug, sku in _columns(dataset, ("store", "sku")):
            try:
                keys.add((slug.strip(), sku.strip()))
            except AttributeError:  # a spreadsheet's number or empty cell
                keys.add((_text(slug), _text(sku)))
        stores = {store.slug: store for store in Store.objects.filter(slug__in={slug for slug, _ in keys})}
        existing = Product.objects.filter(store__in=stores.values())
        skus = {sku for _, sku in keys}
        if len(skus) <= PREFETCH_BY_SKU_LIMIT:
            existing = existing.filter(sku__in=skus)
        if not dry_run:
            try:
                _lock_stores_for_upload(sorted(store.pk for store in stores.values()))
                existing = existing.order_by("store_id", "sku").select_for_update()
                existing = list(existing.values_list("pk", "store_id", "sku", "name", "price", "stock", "active"))
            except DatabaseError as exc:
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
        store_ids = {slug: store.pk for slug, store in stores.items()}
        self.new_products = sum(
            1 for slug, sku in keys if slug in store_ids and sku and (store_ids[slug], sku) not in self.existing
        )

    def import_data_inner(self, dataset, dry_run, raise_errors, using_transactions, collect_failed_rows, **kwargs):
        """import-export's row loop, lean: every row is checked (errors collected in the Result as import-export
        does) and, unless this is a dry run, each good row goes straight to the writer while the next is read.
        A file with any bad row writes nothing: the writer's savepoint is rolled back and import_data rolls
        back the rest."""
        result = self.get_result_class()()
        result.total_rows = len(dataset)
        try:
            self.before_import(dataset, dry_run=dry_run, **kwargs)
        except Exception as exc:
            self.handle_import_error(result, exc, raise_errors)
            return result
        writer = None if dry_run else product_writer()(self.uploaded_by, self.change_reason)
        # The progress callback may use the database: it is called from this thread only (a writer that reads the
        # rows in a worker thread reports them after each chunk it wrote).
        in_worker = getattr(writer, "reads_in_a_thread", False)
        rows = self.checked_rows(dataset, result, None if in_worker else self.progress)
        if dry_run:
            deque(rows, maxlen=0)
            return result
        after_chunk = (lambda: self.progress(self.rows_read)) if in_worker and self.progress is not None else None
        try:
            # Own savepoint: a failed write (e.g. a concurrent upload of the same SKU) leaves the transaction usable.
            with transaction.atomic():
                writer.write(rows, self.new_products, after_chunk=after_chunk)
                if result.has_validation_errors():
                    raise RowsRefused()
                # Foreign keys are checked here, inside the savepoint, not at commit: a store deleted meanwhile
                # then fails the upload with a message instead of failing the commit.
                connection.check_constraints(table_names=WRITTEN_TABLES)
        except RowsRefused:
            pass
        except Exception as exc:
            self.handle_import_error(result, exc, raise_errors)
        return result

    def checked_rows(self, dataset, result, progress=None):
        """Yield each good row as (pk, or None when new, store_id, sku, name, price, stock, active, old_price);
        count every row in result.totals and record each bad one (every bad column) as an invalid row. Every
        PROGRESS_EVERY_ROWS rows, `rows_read` says how many were read, and `progress` (if given) is told.

        The hot loop of a 100k-row file: locals only, one cheap test of the whole row, and clean_row (which
        names every bad column) only for a row that fails it."""
        stores = {slug: store.pk for slug, store in self.stores.items()}
        existing, first_seen, preview_rows = self.existing, {}, self.preview_rows
        cells = _cell_getter(dataset.headers)
        to_decimal, cent, max_price, max_stock, words = Decimal, CENT, MAX_PRICE, MAX_STOCK, BOOLEAN_WORDS
        strip = str.strip
        counts = {NEW: 0, UPDATE: 0, SKIP: 0}
        self.rows_read = 0
        for number, record in enumerate(dataset, start=1):
            if not number % PROGRESS_EVERY_ROWS:
                self.rows_read = number
                if progress is not None:
                    progress(number)
            try:  # a CSV's cells are all text; a spreadsheet's may be numbers or empty
                slug, sku, name, price_text, stock_text, active_text = map(strip, cells(record))
            except TypeError:
                slug, sku, name, price_text, stock_text, active_text = map(_text, cells(record))
            first = first_seen.setdefault((slug, sku), number) if 0 < len(sku) <= 64 else number
            store_id = stores.get(slug)
            try:
                price = to_decimal(price_text)
                cents = price.quantize(cent) if price.is_finite() and 0 <= price <= max_price else None
            except InvalidOperation:
                cents = None
            stock = active = None
            if stock_text:
                stock = int(stock_text) if stock_text.isascii() and stock_text.isdigit() else -1
            if active_text:
                active = words.get(active_text.lower())
            if (
                store_id is None
                or first != number
                or not 0 < len(sku) <= 64
                or not 0 < len(name) <= 200
                or cents is None
                or cents != price
                or (stock is not None and not 0 <= stock <= max_stock)
                or (active is None and active_text)
            ):
                try:
                    store_id, cents, stock, active = self.clean_row(
                        slug, sku, name, price_text, stock_text, active_text, first, number
                    )
                except ValidationError as error:
                    result.append_invalid_row(number, {}, error)
                    continue
            old = existing.get((store_id, sku))
            if old is None:
                counts[NEW] += 1
                stock = 0 if stock is None else stock
                yield (None, store_id, sku, name, cents, stock, True if active is None else active, None)
            else:
                pk, old_name, old_price, old_stock, old_active = old
                new = (name, cents, old_stock if stock is None else stock, old_active if active is None else active)
                if new == (old_name, old_price, old_stock, old_active):
                    counts[SKIP] += 1
                    continue
                counts[UPDATE] += 1
                yield (pk, store_id, sku, *new, old_price)
            if len(preview_rows) < PREVIEW_LIMIT:
                preview_rows.append(
                    {
                        "row": spreadsheet_row(number),
                        "action": "create" if old is None else "update",
                        "store": slug,
                        "sku": sku,
                        "name": name,
                        "old_price": None if old is None else str(old[2]),
                        "new_price": str(cents),
                    }
                )
        for import_type, count in counts.items():
            result.totals[import_type] += count
        result.totals[RowResult.IMPORT_TYPE_INVALID] += len(result.invalid_rows)

    def clean_row(self, slug, sku, name, price_text, stock_text, active_text, first_row, row):
        """(store id, price, stock, active) of a row, or every bad column in one ValidationError keyed by column
        name. `first_row` is the row where this store + SKU first appeared (rows numbered as import-export does)."""
        errors = {}
        store = price = stock = active = None
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
        elif first_row != row:
            errors["sku"] = (
                f"SKU '{sku}' of store '{slug}' is already on row {spreadsheet_row(first_row)}; "
                "each product may appear once."
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
        return store.pk, price, stock, active


class RowsRefused(Exception):
    """The file has bad rows: roll back whatever the writer wrote (the rows' errors are in the Result)."""


def _columns(dataset, names):
    """The named columns of every row (a missing optional column reads as blank)."""
    return map(_cell_getter(dataset.headers, names), dataset)


def _cell_getter(headers, names=PRODUCT_COLUMNS):
    """A function giving a row's cells for `names`, in that order; '' for a column the file does not have."""
    positions = [headers.index(name) if name in headers else None for name in names]
    if None not in positions:
        return itemgetter(*positions) if len(positions) > 1 else lambda row: (row[positions[0]],)
    return lambda row: tuple("" if position is None else row[position] for position in positions)


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


def product_writer():
    """The writer for this database: COPY on PostgreSQL, the ORM elsewhere (both write the same rows: see
    catalog/tests/test_product_writers.py)."""
    return PostgresProductWriter if connection.vendor == "postgresql" else OrmProductWriter


class OrmProductWriter:
    """Any database: bulk_create/bulk_update with simple-history's bulk history records.

    `rows` (any iterable, read once) are (pk, or None for a new product, store_id, sku, name, price, stock, active,
    old price); `new_products` is how many of them are new. A new product's first price is a price change too
    (from nothing), so the price history is complete.
    """

    batch_size = 500

    def __init__(self, user, change_reason):
        self.user, self.change_reason = user, change_reason

    reads_in_a_thread = False

    def write(self, rows, new_products, after_chunk=None):
        now = timezone.now()
        created, updated, old_prices = [], [], []
        for pk, store_id, sku, name, price, stock, active, old_price in rows:
            product = Product(
                pk=pk, store_id=store_id, sku=sku, name=name, price=price, stock=stock, active=active, updated_at=now
            )
            if pk is None:
                created.append(product)
            else:
                updated.append(product)
                old_prices.append(old_price)
        Product.objects.bulk_create(created, batch_size=self.batch_size)
        Product.objects.bulk_update(
            updated, ["name", "price", "stock", "active", "updated_at"], batch_size=self.batch_size
        )
        history = {"default_user": self.user, "default_change_reason": self.change_reason, "default_date": now}
        Product.history.bulk_history_create(created, batch_size=self.batch_size, **history)
        Product.history.bulk_history_create(updated, batch_size=self.batch_size, update=True, **history)
        price_changes = [(product.pk, None, product.price) for product in created]
        price_changes += [
            (product.pk, old_price, product.price)
            for product, old_price in zip(updated, old_prices, strict=True)
            if product.price != old_price
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
    """PostgreSQL: the rows stream to the server as they are checked, in chunks, each table by COPY, the same
    writes as a bare COPY of the rows into the three tables. A worker thread reads and checks the file and formats
    each chunk's COPY text while this thread hands the chunk before it to the server: the new products, the
    updated ones (COPY into a temporary table, which writes no WAL, then one UPDATE), their history records and
    price changes, foreign keys checked by each statement. The file's Python work thus runs on one core while the
    database writes on another. Primary keys of new products are drawn from the table's sequence first, so every
    row knows its product.

    This is raw SQL over simple-history's columns: catalog/tests/test_product_writers.py compares it with the ORM
    writer row for row, so a column added to the product (and so to its history) cannot be left out silently."""

    chunk_rows = 10_000
    product_columns = "id, store_id, sku, name, price, stock, active, updated_at"
    history_columns = (
        "id, store_id, sku, name, price, stock, active, updated_at, "
        "history_date, history_change_reason, history_type, history_user_id"
    )
    price_change_columns = "product_id, old_price, new_price, source, changed_at"

    reads_in_a_thread = True

    def write(self, rows, new_products, after_chunk=None):
        """`after_chunk`, if given, is called (in this thread) after each chunk is written."""
        now = timezone.now()
        product_table = Product._meta.db_table
        copy_into = {
            "products": f"COPY {product_table} ({self.product_columns}) FROM STDIN WITH (FORMAT csv)",
            "updates": "COPY product_upload_updates FROM STDIN WITH (FORMAT csv)",
            "history": f"COPY {Product.history.model._meta.db_table} ({self.history_columns}) "
            "FROM STDIN WITH (FORMAT csv)",
            "price_changes": f"COPY {ProductPriceChange._meta.db_table} ({self.price_change_columns}) "
            "FROM STDIN WITH (FORMAT csv)",
        }
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [product_table, new_products],
            )
            new_ids = [pk for (pk,) in cursor.fetchall()]
            # Foreign keys checked by each statement, so that work too overlaps the reading of the next chunk.
            cursor.execute(
                "CREATE TEMPORARY TABLE product_upload_updates (id bigint, name text, price numeric(12, 2), "
                "stock integer, active boolean) ON COMMIT DROP; SET CONSTRAINTS ALL IMMEDIATE"
            )
            chunks = self.chunks(rows, new_ids, now)
            with closing(_made_ahead(chunks)) as chunks:
                for chunk in chunks:
                    for name, text in chunk.items():
                        if text:
                            with cursor.copy(copy_into[name]) as copy:
                                copy.write(text)
                        if text and name == "updates":
                            cursor.execute(
                                f"UPDATE {product_table} AS p SET name = u.name, price = u.price, stock = u.stock, "
                                "active = u.active, updated_at = %s FROM product_upload_updates AS u "
                                "WHERE p.id = u.id; TRUNCATE product_upload_updates",
                                [now],
                            )
                    if after_chunk is not None:
                        after_chunk()
            cursor.execute("SET CONSTRAINTS ALL DEFERRED; DROP TABLE product_upload_updates")

    def chunks(self, rows, new_ids, now):
        """Per `chunk_rows` rows, the CSV text of each COPY, in the order they must run: products before the price
        changes that refer to them. The hot loop of the confirm: what every line of a row shares is formatted
        once; text is quoted only when it must be. An empty field is NULL: no column here may be ''."""
        new_ids = iter(new_ids)
        user_id = getattr(self.user, "pk", None)
        now = now.isoformat()
        user_id = "" if user_id is None else user_id
        reason = _csv_field(self.change_reason or "")
        created_end, updated_end = (f",{now},{reason},{kind},{user_id}\n" for kind in "+~")  # after updated_at
        price_change_end = f",{ProductPriceChange.Source.UPLOAD},{now}\n"
        quote = _csv_field
        needs_quotes = CSV_SPECIAL.search
        rows = iter(rows)
        while True:
            products, updates, history, price_changes = [], [], [], []
            for pk, store_id, sku, name, price, stock, active, old_price in islice(rows, self.chunk_rows):
                if needs_quotes(sku):
                    sku = quote(sku)
                if needs_quotes(name):
                    name = quote(name)
                if pk is None:
                    pk = next(new_ids)
                    line = f"{pk},{store_id},{sku},{name},{price},{stock},{'t' if active else 'f'},{now}"
                    products.append(line)
                    history.append(line + created_end)
                    price_changes.append(f"{pk},,{price}{price_change_end}")
                else:
                    updates.append(f"{pk},{name},{price},{stock},{'t' if active else 'f'}")
                    history.append(
                        f"{pk},{store_id},{sku},{name},{price},{stock},{'t' if active else 'f'},{now}{updated_end}"
                    )
                    if price != old_price:
                        price_changes.append(f"{pk},{old_price},{price}{price_change_end}")
            if not history:
                return
            yield {
                "products": "\n".join(products) + "\n" if products else "",
                "updates": "\n".join(updates) + "\n" if updates else "",
                "history": "".join(history),
                "price_changes": "".join(price_changes),
            }


CSV_SPECIAL = re.compile(r'[,"\r\n]')


def _csv_field(text):
    """A text value as one CSV field for COPY (quoted, so never NULL)."""
    return '"' + text.replace('"', '""') + '"'


def _made_ahead(items, depth=2):
    """Yield `items`, computed by a worker thread at most `depth` ahead: while the caller waits on the database
    (which releases the GIL), the next items are made. The items' work must not touch the database (Django's
    connection belongs to the caller's thread). An error raised making them is raised here; closing this
    generator stops the worker."""
    handoff = queue.Queue(maxsize=depth)
    stopped = threading.Event()

    def offer(entry):
        while not stopped.is_set():
            try:
                handoff.put(entry, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce():
        try:
            for item in items:
                if not offer((True, item)):
                    return
            offer((False, None))
        except Exception as exc:  # handed to the caller, raised there
            offer((False, exc))

    worker = threading.Thread(target=produce, name="product-upload-rows", daemon=True)
    worker.start()
    try:
        while True:
            more, item = handoff.get()
            if not more:
                if item is not None:
                    raise item
                return
            yield item
    finally:
        stopped.set()
        worker.join()


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
    if stock > MAX_STOCK:
        raise ValueError(f"Stock is too large (got {text}).")
    return stock


def _boolean(text):
    text = text.lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValueError(f"Active must be yes or no (got '{text[:30]}').")
