"""django-import-export resource for the product import/export keyed on store + SKU.

The product import is built for 100k-row files, on two paths with the same rules and the same error report:
- PostgreSQL: the file's rows are COPY'd as text into a temporary table and checked by set-based SQL (types,
  required fields, duplicates within the file, stores, existing products), then the three tables are written by
  INSERT ... SELECT from it (ProductRowsInSql, SqlProductWriter): no Python object per good row;
- elsewhere (SQLite: tests, `make run`): stores and existing products are loaded once per file and each row is
  checked in Python and handed to the ORM writer.
A row either path finds doubtful is worded by one function (ProductResource.clean_row), so errors name the row
and the column in the same words on both.
"""

import csv
import io
import zlib
from collections import deque
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

from .models import Product, ProductPriceChange, Store

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
# The version of the rules a preview's checked rows were checked by (ProductUploadCheck.version): bump it when a
# rule of the check changes, so that a preview made before the change is checked again at its confirm.
CHECKED_ROWS_VERSION = 1


WRITTEN_TABLES = [model._meta.db_table for model in (Product, Product.history.model, ProductPriceChange)]


def spreadsheet_row(row_number):
    """import-export counts data rows from 1; people count the header as row 1."""
    return row_number + 1


class ProductResource(resources.ModelResource):
    """Products keyed on store + SKU.

    The import replaces import-export's row loop (`import_data_inner`): no model instance or RowResult per row,
    just the cleaned values, handed one by one to the writer (`product_writer()`), which writes each product, one
    history record and one price change per written row; on PostgreSQL the rows are checked and written in SQL
    instead (`import_in_sql`). import_data's transaction handling is kept: a dry run
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
        self.rows_in_sql = None  # the PostgreSQL path's ProductRowsInSql, while it runs
        # A PostgreSQL dry run with no bad row: the checked rows (ProductRowsInSql.dump) and the stores they name
        # ({slug: id}), for the confirm to reuse (import_checked).
        self.kept_rows = self.kept_stores = None

    def get_queryset(self):
        return Product.objects.select_related("store")

    # Reading: stores and existing products are loaded once per file.

    def before_import(self, dataset, dry_run=False, **kwargs):
        """Load the file's stores and existing products. Confirming (not a dry run) first locks them: the stores'
        upload locks in store order, then the product rows in (store, sku) order, so the old prices read here are
        the prices just before this write, concurrent uploads serialize instead of deadlocking, and one that waits
        longer than PRODUCT_UPLOAD_LOCK_TIMEOUT_MS gives up with a clear message (see UploadLockLost).
        Also counts the products the file would create. On the SQL path the same, from the rows' table."""
        if self.rows_in_sql is not None:
            self._before_import_in_sql(dry_run)
            return
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

    def _before_import_in_sql(self, dry_run):
        rows = self.rows_in_sql
        self.stores = {store.slug: store for store in Store.objects.filter(slug__in=rows.store_slugs())}
        self.existing, self.new_products = {}, 0
        if not dry_run:
            try:
                store_ids = sorted(store.pk for store in self.stores.values())
                _lock_stores_for_upload(store_ids)
                rows.lock_existing_products(store_ids)
            except DatabaseError as exc:
                raise UploadLockLost() from exc

    def import_data_inner(self, dataset, dry_run, raise_errors, using_transactions, collect_failed_rows, **kwargs):
        """import-export's row loop, lean: every row is checked (errors collected in the Result as import-export
        does) and, unless this is a dry run, each good row goes straight to the writer while the next is read.
        A file with any bad row writes nothing: the writer's savepoint is rolled back and import_data rolls
        back the rest. On PostgreSQL the rows are checked and written in SQL instead (import_in_sql)."""
        result = self.get_result_class()()
        result.total_rows = len(dataset)
        writer_class = product_writer()
        if writer_class.checks_in_sql:
            return self.import_in_sql(dataset, dry_run, result, raise_errors, writer_class, **kwargs)
        try:
            self.before_import(dataset, dry_run=dry_run, **kwargs)
        except Exception as exc:
            self.handle_import_error(result, exc, raise_errors)
            return result
        rows = self.checked_rows(dataset, result, self.progress)
        if dry_run:
            deque(rows, maxlen=0)
            return result
        try:
            # Own savepoint: a failed write (e.g. a concurrent upload of the same SKU) leaves the transaction usable.
            with transaction.atomic():
                writer_class(self.uploaded_by, self.change_reason).write(rows, self.new_products)
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

    def import_in_sql(self, dataset, dry_run, result, raise_errors, writer_class, **kwargs):
        """The PostgreSQL path: COPY the rows into a temporary table, check them there (a suspect row is worded by
        clean_row, as on the Python path), then, unless this is a dry run or a row is bad, write the three tables
        from the checked rows."""
        self.rows_in_sql = rows = ProductRowsInSql(progress=self.progress)
        try:
            rows.load(dataset)
            self.before_import(dataset, dry_run=dry_run, **kwargs)
            rows.check({slug: store.pk for slug, store in self.stores.items()})
            self._word_suspect_rows(rows, result)
            counts = rows.counts()
            self.preview_rows = rows.preview(PREVIEW_LIMIT)
            if dry_run and not result.has_validation_errors():
                self.kept_rows = rows.dump()
                self.kept_stores = {slug: store.pk for slug, store in self.stores.items()}
        except Exception as exc:
            self.handle_import_error(result, exc, raise_errors)
            return result
        finally:
            self.rows_in_sql = None
        for action, import_type in IMPORT_TYPES.items():
            result.totals[import_type] += counts.get(action, 0)
        result.totals[RowResult.IMPORT_TYPE_INVALID] += len(result.invalid_rows)
        if dry_run or result.has_validation_errors():
            return result
        try:
            with transaction.atomic():
                writer_class(self.uploaded_by, self.change_reason).write(rows)
                connection.check_constraints(table_names=WRITTEN_TABLES)
            rows.drop()
        except Exception as exc:
            self.handle_import_error(result, exc, raise_errors)
        return result

    def import_checked(self, kept_rows, stores):
        """The confirm of a PostgreSQL preview from the rows that preview checked (ProductUploadCheck.rows, with the
        `stores` it resolved, {slug: id}) instead of the file: reading and checking 100k rows again costs more than
        writing them, comparing them with the catalog costs one join. Locks as before_import does (stores, then
        products), and writes the rows only if the stores and every product the rows touch are still what the
        check saw; otherwise raises CheckOutdated, having written nothing, and the caller checks the file again.
        Run it in a transaction (the confirm's). Returns the import Result, as import_data would."""
        result = self.get_result_class()()
        rows = PreviewedRowsInSql(stores)
        try:
            with transaction.atomic():  # a savepoint: an outdated check or a failed write leaves nothing behind
                rows.restore(kept_rows)
                self.rows_in_sql = rows
                try:
                    self.before_import(None, dry_run=False)  # the stores by slug, then the locks, as a re-check's
                finally:
                    self.rows_in_sql = None
                if {slug: store.pk for slug, store in self.stores.items()} != stores or not rows.unchanged:
                    raise CheckOutdated()
                counts = rows.counts()
                SqlProductWriter(self.uploaded_by, self.change_reason).write(rows)
                connection.check_constraints(table_names=WRITTEN_TABLES)
            rows.drop()
        except CheckOutdated:
            raise
        except Exception as exc:
            self.handle_import_error(result, exc, raise_errors=False)
            return result
        result.total_rows = sum(counts.values())
        for action, import_type in IMPORT_TYPES.items():
            result.totals[import_type] += counts.get(action, 0)
        return result

    def _word_suspect_rows(self, rows, result):
        """clean_row for each row SQL suspected: a bad one becomes an invalid row (in file order, as on the
        Python path); a good one (SQL's fast tests are stricter than Python's parsing) gets its values and
        action in the checked table."""
        stores = {store.pk for store in self.stores.values()}
        accepted = []
        for number, *texts, first in rows.suspects():
            cleaned = self.clean_or_record(result, number, *texts, first)
            if cleaned is None:
                continue
            slug, sku, name, *_ = texts
            store_id, price, stock, active = cleaned
            assert store_id in stores
            old = rows.existing(store_id, sku)
            action, pk, old_price, stock, active = outcome(old, name, price, stock, active)
            _, old_name, _, old_stock, old_active = old or (None,) * 5
            accepted.append(
                (number, store_id, pk, old_price, price, stock, active, action, old_name, old_stock, old_active)
            )
        rows.accept(accepted)

    def clean_or_record(self, result, number, slug, sku, name, price_text, stock_text, active_text, first_row):
        """clean_row's values for row `number`, or None when it is bad (recorded in `result` as an invalid row)."""
        try:
            return self.clean_row(slug, sku, name, price_text, stock_text, active_text, first_row, number)
        except ValidationError as error:
            result.append_invalid_row(number, {}, error)
            return None

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
        counts = dict.fromkeys(IMPORT_TYPES, 0)
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
                cleaned = self.clean_or_record(
                    result, number, slug, sku, name, price_text, stock_text, active_text, first
                )
                if cleaned is None:
                    continue
                store_id, cents, stock, active = cleaned
            action, pk, old_price, stock, active = outcome(existing.get((store_id, sku)), name, cents, stock, active)
            counts[action] += 1
            if action == "skip":
                continue
            yield (pk, store_id, sku, name, cents, stock, active, old_price)
            if len(preview_rows) < PREVIEW_LIMIT:
                preview_rows.append(preview_row(number, action, slug, sku, name, old_price, cents))
        for action, count in counts.items():
            result.totals[IMPORT_TYPES[action]] += count
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


IMPORT_TYPES = {"create": NEW, "update": UPDATE, "skip": SKIP}  # a row's action, as import-export counts it


def outcome(old, name, price, stock, active):
    """What a good row does to its product `old` ((pk, name, price, stock, active), or None when new):
    (action, pk, old price, stock, active). A blank stock or active keeps the product's (a new one: 0, active)."""
    if old is None:
        return "create", None, None, 0 if stock is None else stock, True if active is None else active
    pk, old_name, old_price, old_stock, old_active = old
    stock = old_stock if stock is None else stock
    active = old_active if active is None else active
    same = (name, price, stock, active) == (old_name, old_price, old_stock, old_active)
    return ("skip" if same else "update"), pk, old_price, stock, active


def preview_row(number, action, slug, sku, name, old_price, price):
    """A created or updated row as the preview shows it."""
    return {
        "row": spreadsheet_row(number),
        "action": action,
        "store": slug,
        "sku": sku,
        "name": name,
        "old_price": None if old_price is None else str(old_price),
        "new_price": str(price),
    }


class CheckOutdated(Exception):
    """A preview's checked rows no longer match the stores or products they were checked against."""


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
    """The writer for this database, which also decides where the rows are checked: in SQL on PostgreSQL, in
    Python elsewhere (both paths write the same rows and report the same errors: see
    catalog/tests/test_product_writers.py)."""
    return SqlProductWriter if connection.vendor == "postgresql" else OrmProductWriter


class OrmProductWriter:
    """Any database: bulk_create/bulk_update with simple-history's bulk history records.

    `rows` (any iterable, read once) are (pk, or None for a new product, store_id, sku, name, price, stock, active,
    old price); `new_products` is how many of them are new. A new product's first price is a price change too
    (from nothing), so the price history is complete.
    """

    batch_size = 500
    checks_in_sql = False

    def __init__(self, user, change_reason):
        self.user, self.change_reason = user, change_reason

    def write(self, rows, new_products):
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


class SqlProductWriter:
    """PostgreSQL: the file's rows are checked and written by set-based SQL (ProductRowsInSql), not row by row in
    Python. Writes the three tables from the checked rows with one INSERT ... SELECT (or UPDATE ... FROM) per kind
    of row, each product's history record and price change in the same statement (data-modifying CTEs).

    This is raw SQL over simple-history's columns: catalog/tests/test_product_writers.py compares it with the ORM
    writer row for row, so a column added to the product (and so to its history) cannot be left out silently."""

    checks_in_sql = True
    product_columns = "id, store_id, sku, name, price, stock, active, updated_at"
    history_columns = (
        "id, store_id, sku, name, price, stock, active, updated_at, "
        "history_date, history_change_reason, history_type, history_user_id"
    )
    price_change_columns = "product_id, old_price, new_price, source, changed_at"

    def __init__(self, user, change_reason):
        self.user, self.change_reason = user, change_reason

    def write(self, rows):
        """Write the `rows` (a ProductRowsInSql already checked, with no bad row): creates, then updates."""
        product_table = Product._meta.db_table
        history_table = Product.history.model._meta.db_table
        price_table = ProductPriceChange._meta.db_table
        params = {
            "now": timezone.now(),
            "reason": self.change_reason,
            "user": getattr(self.user, "pk", None),
            "source": ProductPriceChange.Source.UPLOAD,
        }
        written = "RETURNING id, store_id, sku, name, price, stock, active, updated_at"  # the product_columns
        with connection.cursor() as cursor:
            # Foreign keys checked by each statement (Django declares them deferred): a store deleted meanwhile
            # fails the statement that refers to it.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            # Sorting the rows and keeping the written products for the history and price changes spill to temporary
            # files at the default work_mem: more for these statements only, then put back.
            cursor.execute(
                "SELECT current_setting('work_mem'), set_config('work_mem', %s, true)",
                [f"{settings.PRODUCT_UPLOAD_WORK_MEM_MB}MB"],
            )
            work_mem = cursor.fetchone()[0]
            cursor.execute(
                f"""WITH written AS (
                    INSERT INTO {product_table} (store_id, sku, name, price, stock, active, updated_at)
                    SELECT store_id, sku, name, price, stock, active, %(now)s FROM {rows.checked}
                    WHERE action = 'create' ORDER BY row_number
                    {written}
                ), history AS (
                    INSERT INTO {history_table} ({self.history_columns})
                    SELECT {self.product_columns}, %(now)s, %(reason)s, '+', %(user)s FROM written
                )
                INSERT INTO {price_table} ({self.price_change_columns})
                SELECT id, NULL, price, %(source)s, %(now)s FROM written""",
                params,
            )
            cursor.execute(
                f"""WITH written AS (
                    UPDATE {product_table} AS p SET name = c.name, price = c.price, stock = c.stock,
                        active = c.active, updated_at = %(now)s
                    FROM {rows.checked} AS c WHERE c.action = 'update' AND p.id = c.product_id
                    RETURNING p.id, p.store_id, p.sku, p.name, p.price, p.stock, p.active, p.updated_at, c.old_price
                ), history AS (
                    INSERT INTO {history_table} ({self.history_columns})
                    SELECT {self.product_columns}, %(now)s, %(reason)s, '~', %(user)s FROM written
                )
                INSERT INTO {price_table} ({self.price_change_columns})
                SELECT id, old_price, price, %(source)s, %(now)s FROM written WHERE price <> old_price""",
                params,
            )
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            cursor.execute("SELECT set_config('work_mem', %s, true)", [work_mem])


# What Python's str.strip() strips (str.isspace()); PostgreSQL's btrim() is told the same characters.
PYTHON_WHITESPACE = "".join(chr(code) for code in range(0x3001) if chr(code).isspace())


class ProductRowsInSql:
    """A product file's rows in temporary tables, checked by set-based SQL with the Python path's rules.

    `load` COPYs the rows as text into product_upload_rows (numbered in file order); `check` builds
    product_upload_checked: each row's cleaned values, its existing product and its action (create, update, skip),
    or "suspect" when the row fails any of the fast tests below. Those are the fast tests of
    ProductResource.checked_rows, written in SQL; a suspect row is then handed to ProductResource.clean_row, the
    one place that words an error, so the error report is the Python path's by construction (and a row SQL could
    not read, e.g. a price with Unicode digits that Python's Decimal accepts, is accepted or refused as Python
    would). Both tables are dropped with the transaction (or by `drop`)."""

    rows = "pg_temp.product_upload_rows"
    checked = "pg_temp.product_upload_checked"
    suspect_limit = 100_000

    def __init__(self, progress=None):
        self.progress = progress

    def load(self, dataset):
        """COPY every row of `dataset` (a ProductFile: its columns in header order) into the rows table, in
        chunks of PROGRESS_EVERY_ROWS rows, telling `progress` after each. A spreadsheet's cells become text as the
        Python path reads them (_text); CSV text is copied as read (it is stripped in SQL)."""
        columns = ", ".join(dataset.headers)
        texts = getattr(dataset, "all_text", False)
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.checked}, {self.rows}")
            cursor.execute(
                f"CREATE TEMPORARY TABLE product_upload_rows (row_number integer GENERATED ALWAYS AS IDENTITY, "
                f"{', '.join(f'{column} text NOT NULL DEFAULT {chr(39) * 2}' for column in PRODUCT_COLUMNS)}) "
                "ON COMMIT DROP"
            )
            with cursor.copy(
                f"COPY {self.rows} ({columns}) FROM STDIN WITH (FORMAT csv, FORCE_NOT_NULL ({columns}))"
            ) as copy:
                rows, done, every = iter(dataset), 0, PROGRESS_EVERY_ROWS
                while True:
                    chunk = list(islice(rows, every))
                    if not chunk:
                        break
                    buffer = io.StringIO()
                    lines = csv.writer(buffer, lineterminator="\n")
                    lines.writerows(chunk if texts else ([_text(cell) for cell in row] for row in chunk))
                    copy.write(buffer.getvalue())
                    done += len(chunk)
                    if len(chunk) == every and self.progress is not None:
                        self.progress(done)

    def store_slugs(self):
        """The distinct store slugs the rows name (stripped as Python strips them)."""
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT DISTINCT btrim(store, %s) FROM {self.rows} WHERE btrim(store, %s) <> ''",
                [PYTHON_WHITESPACE, PYTHON_WHITESPACE],
            )
            return [slug for (slug,) in cursor.fetchall()]

    def lock_existing_products(self, store_ids):
        """Lock the rows' existing products in (store, sku) order (the order every upload locks them in)."""
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT p.id FROM {Product._meta.db_table} AS p "
                f"WHERE p.store_id = ANY(%s) AND p.sku IN (SELECT btrim(sku, %s) FROM {self.rows}) "
                "ORDER BY p.store_id, p.sku FOR UPDATE OF p",
                [list(store_ids), PYTHON_WHITESPACE],
            )

    def check(self, stores):
        """Build the checked table from the rows, `stores` ({slug: store id}) and the existing products."""
        words = sorted(BOOLEAN_WORDS)
        with connection.cursor() as cursor:
            cursor.execute(
                f"""CREATE TEMPORARY TABLE product_upload_checked ON COMMIT DROP AS
                WITH stripped AS (
                    SELECT row_number, btrim(store, %(ws)s) AS store, btrim(sku, %(ws)s) AS sku,
                        btrim(name, %(ws)s) AS name, btrim(price, %(ws)s) AS price_text,
                        btrim(stock, %(ws)s) AS stock_text, btrim(active, %(ws)s) AS active_text
                    FROM {self.rows}
                ), typed AS (
                    SELECT r.*, s.id AS store_id,
                        CASE WHEN char_length(r.sku) BETWEEN 1 AND 64
                            THEN min(r.row_number) OVER (PARTITION BY r.store, r.sku) ELSE r.row_number END
                            AS first_row,
                        CASE WHEN r.price_text ~ '^\\+?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]{{1,2}})?$'
                            AND char_length(r.price_text) <= 40 THEN r.price_text::numeric END AS price_number,
                        CASE WHEN r.stock_text ~ '^[0-9]{{1,18}}$' THEN r.stock_text::bigint END AS stock_number,
                        CASE WHEN r.active_text ~ '^[A-Za-z0-9]{{1,5}}$' AND lower(r.active_text) = ANY(%(true)s)
                            THEN true
                            WHEN r.active_text ~ '^[A-Za-z0-9]{{1,5}}$' AND lower(r.active_text) = ANY(%(false)s)
                            THEN false END AS active_value
                    FROM stripped AS r
                    LEFT JOIN unnest(%(slugs)s::text[], %(store_ids)s::bigint[]) AS s (slug, id) ON s.slug = r.store
                ), judged AS (
                    SELECT t.*, coalesce(
                        t.store_id IS NOT NULL AND t.first_row = t.row_number
                        AND char_length(t.sku) BETWEEN 1 AND 64 AND char_length(t.name) BETWEEN 1 AND 200
                        AND t.price_number BETWEEN 0 AND %(max_price)s AND round(t.price_number, 2) = t.price_number
                        AND (t.stock_text = '' OR t.stock_number BETWEEN 0 AND %(max_stock)s)
                        AND (t.active_text = '' OR t.active_value IS NOT NULL),
                        false
                    ) AS good
                    FROM typed AS t
                )
                SELECT j.row_number, j.store, j.sku, j.name, j.price_text, j.stock_text, j.active_text, j.first_row,
                    j.store_id, p.id AS product_id, p.price AS old_price,
                    CASE WHEN j.good THEN j.price_number::numeric(12, 2) END AS price,
                    CASE WHEN j.good THEN coalesce(j.stock_number::integer, p.stock, 0) END AS stock,
                    CASE WHEN j.good THEN coalesce(j.active_value, p.active, true) END AS active,
                    CASE WHEN NOT j.good THEN 'suspect'
                        WHEN p.id IS NULL THEN 'create'
                        WHEN (j.name, j.price_number, coalesce(j.stock_number::integer, p.stock),
                            coalesce(j.active_value, p.active)) = (p.name, p.price, p.stock, p.active) THEN 'skip'
                        ELSE 'update' END AS action,
                    p.name AS old_name, p.stock AS old_stock, p.active AS old_active
                FROM judged AS j
                LEFT JOIN {Product._meta.db_table} AS p ON j.good AND p.store_id = j.store_id AND p.sku = j.sku""",
                {
                    "ws": PYTHON_WHITESPACE,
                    "true": [word for word in words if BOOLEAN_WORDS[word]],
                    "false": [word for word in words if not BOOLEAN_WORDS[word]],
                    "slugs": list(stores),
                    "store_ids": list(stores.values()),
                    "max_price": MAX_PRICE,
                    "max_stock": MAX_STOCK,
                },
            )

    def suspects(self):
        """The rows that failed a fast test, in file order, as (row number, slug, sku, name, price text, stock
        text, active text, first row of this store + SKU), read in batches."""
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT row_number, store, sku, name, price_text, stock_text, active_text, first_row "
                f"FROM {self.checked} WHERE action = 'suspect' ORDER BY row_number"
            )
            while batch := cursor.fetchmany(2000):
                yield from batch

    def existing(self, store_id, sku):
        """(pk, name, price, stock, active) of the product at store + SKU, or None."""
        return (
            Product.objects.filter(store_id=store_id, sku=sku)
            .values_list("pk", "name", "price", "stock", "active")
            .first()
        )

    def accept(self, rows):
        """Rows Python accepted though SQL suspected them: [(row number, store id, product id or None, old price,
        price, stock, active, action, old name, old stock, old active)]."""
        if not rows:
            return
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {self.checked} SET store_id = %s, product_id = %s, old_price = %s, price = %s, stock = %s, "
                "active = %s, action = %s, old_name = %s, old_stock = %s, old_active = %s WHERE row_number = %s",
                [(*row[1:], row[0]) for row in rows],
            )

    def counts(self):
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT action, count(*) FROM {self.checked} GROUP BY action")
            return dict(cursor.fetchall())

    def preview(self, limit):
        """The first `limit` created or updated rows, as the preview shows them."""
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT row_number, action, store, sku, name, old_price, price FROM {self.checked} "
                "WHERE action IN ('create', 'update') ORDER BY row_number LIMIT %s",
                [limit],
            )
            return [preview_row(*row) for row in cursor.fetchall()]

    def drop(self):
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.checked}, {self.rows}")

    # A preview's checked rows, reused by its confirm (ProductUploadCheck): dumped after the dry run's check,
    # restored at the confirm instead of reading and checking the file, and compared with the products then.

    kept_columns = (
        "row_number, action, store_id, sku, name, price, stock, active, product_id, old_price, "
        "old_name, old_stock, old_active"
    )
    kept_table = (
        "row_number integer, action text, store_id bigint, sku text, name text, price numeric(12, 2), stock integer, "
        "active boolean, product_id bigint, old_price numeric(12, 2), old_name text, old_stock integer, "
        "old_active boolean"
    )

    def dump(self):
        """The checked rows (none suspect: call it on a file with no bad row) as zlib-compressed COPY text: about
        15 bytes a row, read back by `restore`."""
        compressor = zlib.compressobj(1)
        with (
            connection.cursor() as cursor,
            cursor.copy(f"COPY (SELECT {self.kept_columns} FROM {self.checked} ORDER BY row_number) TO STDOUT") as copy,
        ):
            parts = [compressor.compress(block) for block in copy]
        parts.append(compressor.flush())
        return b"".join(parts)

    def restore(self, dumped):
        """Make the checked table from `dump`'s bytes (streamed: never the whole text in memory at once)."""
        decompressor, step = zlib.decompressobj(), 1024 * 1024
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.checked}, {self.rows}")
            cursor.execute(f"CREATE TEMPORARY TABLE product_upload_checked ({self.kept_table}) ON COMMIT DROP")
            with cursor.copy(f"COPY {self.checked} ({self.kept_columns}) FROM STDIN") as copy:
                for start in range(0, len(dumped), step):
                    copy.write(decompressor.decompress(dumped[start : start + step]))
                copy.write(decompressor.flush())

    def unchanged_since_check(self, store_ids):
        """Lock the rows' products (in (store, sku) order, as lock_existing_products) and tell whether each is the
        product the check saw: the same id, name, price, stock and active for a row that updates or skips it, and
        none for a row that creates one. Any difference (an edit, a delete, a product created meanwhile, even one
        that bypassed history) and the rows must be checked again."""
        product_table = Product._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"""WITH locked AS MATERIALIZED (
                    SELECT p.id, p.store_id, p.sku, p.name, p.price, p.stock, p.active FROM {product_table} AS p
                    WHERE p.store_id = ANY(%s) AND (p.store_id, p.sku) IN (SELECT store_id, sku FROM {self.checked})
                    ORDER BY p.store_id, p.sku FOR UPDATE OF p
                )
                SELECT count(*), count(*) FILTER (
                    WHERE c.product_id = l.id
                    AND (c.old_name, c.old_price, c.old_stock, c.old_active) = (l.name, l.price, l.stock, l.active)
                ), (SELECT count(*) FROM {self.checked} WHERE product_id IS NOT NULL)
                FROM locked AS l JOIN {self.checked} AS c ON c.store_id = l.store_id AND c.sku = l.sku""",
                [list(store_ids)],
            )
            found, same, expected = cursor.fetchone()
        return found == same == expected


class PreviewedRowsInSql(ProductRowsInSql):
    """A preview's checked rows (restored from ProductRowsInSql.dump), for ProductResource.import_checked: the
    stores are the ones the check resolved, and locking the products also compares them with what the check saw
    (`unchanged`)."""

    def __init__(self, stores):
        super().__init__()
        self.stores, self.unchanged = stores, None

    def store_slugs(self):
        return list(self.stores)

    def lock_existing_products(self, store_ids):
        self.unchanged = self.unchanged_since_check(store_ids)


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
