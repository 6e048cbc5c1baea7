"""django-import-export resources: product import/export keyed on store + SKU, and app export.

The product import is built for 100k-row files: stores and existing products are loaded once
per file (no query per row), rows are written with bulk_create/bulk_update (with their history),
and the html diff is skipped. Each row is cleaned here so errors name the row and the column.
"""

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils import timezone
from import_export import fields, resources
from import_export.results import RowResult
from import_export.widgets import ForeignKeyWidget
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from .models import App, Category, Product, ProductPriceChange, Store

PRODUCT_COLUMNS = ("store", "sku", "name", "price", "stock", "active")
REQUIRED_PRODUCT_COLUMNS = ("store", "sku", "name", "price")
PREVIEW_LIMIT = 200
TRUE_WORDS = {"1", "true", "yes", "y", "t"}
FALSE_WORDS = {"0", "false", "no", "n", "f"}
MAX_PRICE = Decimal("9999999999.99")
PREFETCH_BY_SKU_LIMIT = 5000


def spreadsheet_row(row_number):
    """import-export counts data rows from 1; people count the header as row 1."""
    return row_number + 1


class ProductResource(resources.ModelResource):
    store = fields.Field(attribute="store", column_name="store", widget=ForeignKeyWidget(Store, "slug"))

    class Meta:
        model = Product
        fields = PRODUCT_COLUMNS
        export_order = PRODUCT_COLUMNS
        import_id_fields = ("store", "sku")
        use_bulk = True
        batch_size = 2000
        skip_diff = True
        clean_model_instances = False
        use_transactions = True

    def __init__(self, uploaded_by=None, change_reason="Bulk upload", **kwargs):
        super().__init__(**kwargs)
        self.uploaded_by = uploaded_by
        self.change_reason = change_reason
        self.preview_rows = []
        self.price_changes = []

    def get_queryset(self):
        return Product.objects.select_related("store")

    # Loading: once per file.

    def before_import(self, dataset, **kwargs):
        slugs = {str(slug).strip() for slug in dataset["store"] if slug is not None}
        self.stores = {store.slug: store for store in Store.objects.filter(slug__in=slugs)}
        existing = Product.objects.filter(store__in=self.stores.values()).only(
            "id", "store_id", "sku", "name", "price", "stock", "active"
        )
        skus = {str(sku).strip() for sku in dataset["sku"] if sku is not None}
        if len(skus) <= PREFETCH_BY_SKU_LIMIT:
            existing = existing.filter(sku__in=skus)
        self.existing = {(product.store_id, product.sku): product for product in existing.iterator(chunk_size=5000)}
        self.snapshots = {key: self._snapshot(product) for key, product in self.existing.items()}
        self.first_seen = {}

    @staticmethod
    def _snapshot(product):
        return (product.name, product.price, product.stock, product.active)

    # One row.

    def before_import_row(self, row, **kwargs):
        """Clean the whole row up front, collecting every bad column into one error."""
        row_number = spreadsheet_row(kwargs["row_number"])
        errors = {}
        cleaned = {}
        slug = _text(row.get("store"))
        if not slug:
            errors["store"] = "Store is required."
        elif slug not in self.stores:
            errors["store"] = f"Unknown store '{slug}'."
        else:
            cleaned["store"] = self.stores[slug]
        sku = _text(row.get("sku"))
        if not sku:
            errors["sku"] = "SKU is required."
        elif len(sku) > 64:
            errors["sku"] = "SKU is longer than 64 characters."
        else:
            cleaned["sku"] = sku
            first = self.first_seen.setdefault((slug, sku), row_number)
            if first != row_number:
                errors["sku"] = (
                    f"SKU '{sku}' of store '{slug}' is already on row {first}; each product may appear once."
                )
        name = _text(row.get("name"))
        if not name:
            errors["name"] = "Name is required."
        elif len(name) > 200:
            errors["name"] = "Name is longer than 200 characters."
        else:
            cleaned["name"] = name
        try:
            cleaned["price"] = _price(row.get("price"))
        except ValueError as exc:
            errors["price"] = str(exc)
        if _text(row.get("stock")):
            try:
                cleaned["stock"] = _stock(row.get("stock"))
            except ValueError as exc:
                errors["stock"] = str(exc)
        if _text(row.get("active")):
            try:
                cleaned["active"] = _boolean(row.get("active"))
            except ValueError as exc:
                errors["active"] = str(exc)
        if errors:
            raise ValidationError(errors)
        self.cleaned = cleaned

    def get_instance(self, instance_loader, row):
        return self.existing.get((self.cleaned["store"].id, self.cleaned["sku"]))

    def init_instance(self, row=None):
        return Product(store=self.cleaned["store"], sku=self.cleaned["sku"])

    def import_instance(self, instance, row, **kwargs):
        for field, value in self.cleaned.items():
            if field not in ("store", "sku"):
                setattr(instance, field, value)

    def skip_row(self, instance, original, row, import_validation_errors=None):
        if import_validation_errors or instance.pk is None:
            return False
        return self._snapshot(instance) == self.snapshots[(instance.store_id, instance.sku)]

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        if import_validation_errors:
            raise ValidationError(import_validation_errors)

    def after_save_instance(self, instance, row, **kwargs):
        old_price = None if instance.pk is None else self.snapshots[(instance.store_id, instance.sku)][1]
        if old_price != instance.price:
            self.price_changes.append((instance, old_price, instance.price))

    def after_import_row(self, row, row_result, **kwargs):
        if len(self.preview_rows) >= PREVIEW_LIMIT:
            return
        if row_result.import_type not in (RowResult.IMPORT_TYPE_NEW, RowResult.IMPORT_TYPE_UPDATE):
            return
        key = (self.cleaned["store"].id, self.cleaned["sku"])
        old = self.snapshots.get(key)
        self.preview_rows.append(
            {
                "row": spreadsheet_row(kwargs["row_number"]),
                "action": "create" if row_result.import_type == RowResult.IMPORT_TYPE_NEW else "update",
                "store": self.cleaned["store"].slug,
                "sku": self.cleaned["sku"],
                "name": self.cleaned["name"],
                "old_price": None if old is None else str(old[1]),
                "new_price": str(self.cleaned["price"]),
            }
        )

    # Writing: in batches, with history.

    def bulk_create(self, using_transactions, dry_run, raise_errors, batch_size=None, result=None):
        if self.create_instances and (using_transactions or not dry_run):
            try:
                bulk_create_with_history(
                    self.create_instances,
                    Product,
                    batch_size=batch_size,
                    default_user=self.uploaded_by,
                    default_change_reason=self.change_reason,
                )
            except Exception as exc:
                self.handle_import_error(result, exc, raise_errors)
            finally:
                self.create_instances.clear()

    def bulk_update(self, using_transactions, dry_run, raise_errors, batch_size=None, result=None):
        if self.update_instances and (using_transactions or not dry_run):
            now = timezone.now()
            for product in self.update_instances:
                product.updated_at = now
            try:
                bulk_update_with_history(
                    self.update_instances,
                    Product,
                    ["name", "price", "stock", "active", "updated_at"],
                    batch_size=batch_size,
                    default_user=self.uploaded_by,
                    default_change_reason=self.change_reason,
                )
            except Exception as exc:
                self.handle_import_error(result, exc, raise_errors)
            finally:
                self.update_instances.clear()

    def after_import(self, dataset, result, **kwargs):
        """Every price set by the file (a new product's first price included) becomes a ProductPriceChange."""
        if kwargs.get("dry_run") or result.has_errors() or result.has_validation_errors():
            return
        ProductPriceChange.objects.bulk_create(
            (
                ProductPriceChange(
                    product_id=product.pk, old_price=old, new_price=new, source=ProductPriceChange.Source.UPLOAD
                )
                for product, old, new in self.price_changes
            ),
            batch_size=self._meta.batch_size,
        )


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
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _price(value):
    text = _text(value)
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
    if price != price.quantize(Decimal("0.01")):
        raise ValueError(f"Price can have at most 2 decimal places (got {text}).")
    return price.quantize(Decimal("0.01"))


def _stock(value):
    text = _text(value)
    try:
        stock = int(text)
    except ValueError:
        raise ValueError(f"Stock must be a whole number (got '{text[:30]}').") from None
    if stock < 0:
        raise ValueError(f"Stock cannot be negative (got {text}).")
    if stock > 2_147_483_647:
        raise ValueError(f"Stock is too large (got {text}).")
    return stock


def _boolean(value):
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValueError(f"Active must be yes or no (got '{text[:30]}').")
