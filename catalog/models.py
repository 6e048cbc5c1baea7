from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from simple_history.models import HistoricalRecords

from backoffice.models import NamedModel, actor_link, optional_link
from backoffice.storage import private_storage
from backoffice.uploads import RandomName, validate_image


class Category(models.Model):
    """A category, or a subcategory when it has a parent (two levels)."""

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=120, unique=True)
    parent = optional_link("self", on_delete=models.PROTECT, related_name="subcategories")

    class Meta:
        verbose_name_plural = "categories"
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["parent", "name"], name="category_name_unique_in_parent")]

    def __str__(self):
        return f"{self.parent} › {self.name}" if self.parent_id else self.name

    def clean(self):
        if self.parent_id and self.parent.parent_id:
            raise ValidationError({"parent": "Subcategories cannot have subcategories of their own."})
        if self.pk and self.parent_id == self.pk:
            raise ValidationError({"parent": "A category cannot be its own parent."})


class App(NamedModel):
    """An app users install to earn points, proving it with a screenshot."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="apps", limit_choices_to={"parent__isnull": True}
    )
    subcategory = optional_link(
        Category, on_delete=models.PROTECT, related_name="subcategory_apps", limit_choices_to={"parent__isnull": False}
    )
    image = models.ImageField(upload_to=RandomName("apps"), blank=True, validators=[validate_image])
    thumbnail = models.ImageField(upload_to=RandomName("apps/thumbs"), blank=True, editable=False)
    description = models.TextField(blank=True)
    points_reward = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    credit_price = models.PositiveIntegerField(default=0, help_text="Credits a user pays for this app.")
    active = models.BooleanField(default=True)
    created_by = actor_link(on_delete=models.SET_NULL, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True, help_text="Read by the data API's incremental sync.")
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta(NamedModel.Meta):
        indexes = [models.Index(fields=["active", "category"]), models.Index(fields=["updated_at", "id"])]

    def clean(self):
        if self.subcategory_id and self.category_id and self.subcategory.parent_id != self.category_id:
            raise ValidationError({"subcategory": "The subcategory must belong to the chosen category."})


class Store(NamedModel):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)


class Product(models.Model):
    # No index of its own: the (store, sku) unique constraint leads with store and serves every store lookup.
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="products", db_index=False)
    sku = models.CharField("SKU", max_length=64)
    name = models.CharField(max_length=200)
    price = models.DecimalField(max_digits=12, decimal_places=2, validators=[MinValueValidator(0)])
    stock = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)
    # History is looked up per product (by id), never by store.
    history = HistoricalRecords(no_db_index="store")

    class Meta:
        ordering = ["store", "sku"]
        constraints = [
            models.UniqueConstraint(fields=["store", "sku"], name="product_sku_unique_per_store"),
            models.CheckConstraint(condition=models.Q(price__gte=0), name="product_price_not_negative"),
        ]

    def __str__(self):
        return f"{self.sku} {self.name}"


class ProductPriceChange(models.Model):
    """One change of a product's price and where it came from, written beside the price by every writer.

    Uploads, feeds, staff edits (`catalog.services.save_product`) and the repricer all record one: a price never
    changes without a line saying why.
    """

    class Source(models.TextChoices):
        UPLOAD = "upload", "Bulk upload"
        FEED = "feed", "Competitor feed"
        MANUAL = "manual", "Manual edit"
        REPRICER = "repricer"

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="price_changes", db_index=False)
    old_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    new_price = models.DecimalField(max_digits=12, decimal_places=2)
    source = models.CharField(max_length=10, choices=Source.choices)
    # Why, in a few words, when the source alone doesn't say (the repricer names the competitor offer it followed).
    cause = models.CharField(max_length=200, blank=True, default="", db_default="")
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-changed_at"]
        # A product's price history, newest first, is the one way these rows are read.
        indexes = [models.Index(fields=["product", "-changed_at"], name="price_change_product_recent")]

    def __str__(self):
        return f"{self.product_id}: {self.old_price} → {self.new_price}"


class Competitor(NamedModel):
    class FeedFormat(models.TextChoices):
        CSV = "csv", "CSV"
        JSON = "json", "JSON"

    name = models.CharField(max_length=120, unique=True)
    feed_url = models.URLField(blank=True)
    feed_format = models.CharField(max_length=4, choices=FeedFormat.choices, default=FeedFormat.CSV)
    active = models.BooleanField(default=True)


class CompetitorOffer(models.Model):
    competitor = models.ForeignKey(Competitor, on_delete=models.CASCADE, related_name="offers")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="competitor_offers")
    price = models.DecimalField(max_digits=12, decimal_places=2, validators=[MinValueValidator(0)])
    seen_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-seen_at"]
        indexes = [models.Index(fields=["product", "-seen_at"])]

    def __str__(self):
        return f"{self.competitor_id} offers {self.product_id} at {self.price}"


class ProductUpload(models.Model):
    """One bulk upload of products: the file, who sent it, and what became of each row.

    `catalog.services` moves it checking → previewed → importing → imported (or failed); confirming writes the rows
    the preview checked, unless the products changed since.
    """

    class Status(models.TextChoices):
        CHECKING = "checking", "Checking (dry run)…"
        PREVIEWED = "previewed", "Previewed (dry run)"
        IMPORTING = "importing", "Importing…"
        IMPORTED = "imported"
        FAILED = "failed"

    IN_PROGRESS = (Status.CHECKING, Status.IMPORTING)

    file = models.FileField(upload_to=RandomName("uploads/products"), storage=private_storage)
    original_name = models.CharField(max_length=255)
    uploaded_by = actor_link(on_delete=models.SET_NULL, blank=False)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PREVIEWED)
    total_rows = models.PositiveIntegerField(default=0)
    created_rows = models.PositiveIntegerField(default=0)
    updated_rows = models.PositiveIntegerField(default=0)
    unchanged_rows = models.PositiveIntegerField(default=0)
    error_rows = models.PositiveIntegerField(default=0)
    row_errors = models.JSONField(default=list, blank=True)
    preview_rows = models.JSONField(
        default=list, blank=True, help_text="The first rows the dry run would create or update, for the preview."
    )
    # The background job checking or importing a large file (PRODUCT_UPLOAD_INLINE_MAX_BYTES): its progress.
    task_run = optional_link("backoffice.TaskRun", on_delete=models.SET_NULL, editable=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.original_name} ({self.get_status_display()})"

    @property
    def in_progress(self):
        return self.status in self.IN_PROGRESS


class ProductUploadCheck(models.Model):
    """What a PostgreSQL preview checked, kept for the confirm: the file's checked rows (each row's values, action
    and the product it saw), compressed, with the file's hash and the stores it resolved. The confirm writes these
    rows instead of reading and checking the file again, once it has verified that nothing they depend on changed
    (catalog.resources.ProductRowsInSql.restore / unchanged_since_check); otherwise it checks the file again.
    A separate table so that listing uploads never loads the rows."""

    upload = models.OneToOneField(ProductUpload, on_delete=models.CASCADE, primary_key=True, related_name="+")
    version = models.PositiveSmallIntegerField(help_text="The rules' version that checked the rows.")
    file_sha256 = models.CharField(max_length=64)
    stores = models.JSONField(help_text="{slug: store id} as the check resolved them.")
    rows = models.BinaryField(help_text="The checked rows as PostgreSQL COPY text, zlib-compressed.")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"check of upload {self.upload_id}"
