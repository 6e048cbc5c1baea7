"""Store operations: sales points and their stock, clients and orders, competitor shops and what they sell,
repricing rules and their decisions, the store's marketplace account (order feed, price-list token), staff alerts.

Counters (stock quantity and reservations, order status) change only through `stores.orders`; prices change
only through `stores.repricing` (or catalog's own services). No admin form contains them.
"""

import secrets
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from backoffice.models import NamedModel, actor_link, optional_link
from catalog.models import Competitor, Product, Store

MONEY = {"max_digits": 12, "decimal_places": 2}


def new_price_list_token():
    return secrets.token_urlsafe(24)


class SalesPoint(models.Model):
    """A store's pickup point or warehouse: where orders are served from and stock is counted."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="sales_points")
    name = models.CharField(max_length=120)
    address = models.CharField(max_length=300, blank=True)
    active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["store", "name"]
        constraints = [models.UniqueConstraint(fields=["store", "name"], name="sales_point_name_unique_per_store")]

    def __str__(self):
        return f"{self.store} · {self.name}"


class ProductStock(models.Model):
    """How many of a product a sales point holds, and how many of those open orders have reserved."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="point_stocks")
    sales_point = models.ForeignKey(SalesPoint, on_delete=models.CASCADE, related_name="stocks")
    quantity = models.PositiveIntegerField(default=0, editable=False)
    reserved = models.PositiveIntegerField(default=0, editable=False)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["sales_point", "product"]
        verbose_name = "stock at a sales point"
        constraints = [
            models.UniqueConstraint(fields=["product", "sales_point"], name="stock_unique_per_point"),
            models.CheckConstraint(condition=Q(reserved__lte=F("quantity")), name="stock_reserved_within_quantity"),
        ]

    def __str__(self):
        return f"{self.product} at {self.sales_point}: {self.quantity}"

    @property
    def available(self):
        return self.quantity - self.reserved


class Client(NamedModel):
    """A buyer of the store on the marketplace."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="clients")
    name = models.CharField(max_length=200)
    phone = models.CharField(max_length=32, blank=True)
    email = models.EmailField(blank=True)
    city = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta(NamedModel.Meta):
        indexes = [models.Index(fields=["store", "phone"])]


class Order(models.Model):
    """A marketplace order. Its status moves only through `stores.orders.change_status`."""

    class Status(models.TextChoices):
        NEW = "new"
        ACCEPTED = "accepted"
        SHIPPED = "shipped"
        DELIVERED = "delivered"
        CANCELLED = "cancelled"
        RETURNED = "returned"

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="orders")
    code = models.CharField("marketplace order code", max_length=64)
    client = optional_link(Client, on_delete=models.PROTECT, related_name="orders")
    sales_point = models.ForeignKey(SalesPoint, on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW, editable=False)
    total = models.DecimalField(**MONEY, default=Decimal("0"), editable=False)
    placed_at = models.DateTimeField(db_index=True)
    status_changed_at = models.DateTimeField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-placed_at"]
        constraints = [
            models.UniqueConstraint(fields=["store", "code"], name="order_code_unique_per_store"),
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_not_negative"),
        ]
        indexes = [models.Index(fields=["store", "status", "-placed_at"])]

    def __str__(self):
        return f"{self.code} ({self.get_status_display()})"


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_items")
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(**MONEY, validators=[MinValueValidator(0)])

    class Meta:
        ordering = ["order", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="order_item_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="order_item_price_not_negative"),
        ]

    def __str__(self):
        return f"{self.quantity} × {self.product}"


class FeedFormat(models.TextChoices):
    """How a marketplace or competitor feed is read (`stores.feeds`): CSV with a header row, a JSON array of
    objects, or XML with one <listing> element per record."""

    CSV = "csv", "CSV"
    JSON = "json", "JSON"
    XML = "xml", "XML"


class CompetitorStore(models.Model):
    """A competitor's shop on the marketplace, watched for one of our stores. A competitor may run several."""

    competitor = models.ForeignKey(Competitor, on_delete=models.CASCADE, related_name="shops")
    store = models.ForeignKey(
        Store, on_delete=models.CASCADE, related_name="competitor_shops", help_text="Our store it competes with."
    )
    name = models.CharField(max_length=120)
    shop_url = models.URLField("shop page", blank=True)
    feed_url = models.URLField(blank=True, help_text="Where its listings are fetched from (CSV, JSON or XML).")
    feed_format = models.CharField(max_length=4, choices=FeedFormat.choices, default=FeedFormat.CSV)
    active = models.BooleanField(default=True)
    last_import_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_import_error = models.TextField(blank=True, editable=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["competitor", "name"]
        constraints = [
            models.UniqueConstraint(fields=["competitor", "store", "name"], name="competitor_store_unique_name")
        ]

    def __str__(self):
        return f"{self.competitor} · {self.name}"


class CompetitorListing(models.Model):
    """One product a competitor's shop sells (the full list, `AllCompetitorProducts` in the source system).

    A listing matched to one of our products (same SKU in the watched store) is a competitor offer for it;
    unmatched listings are kept so staff can see the competitor's whole range. One row per external id,
    updated in place by each feed import: the repricer reads the current price, `seen_at` says how fresh.
    """

    competitor_store = models.ForeignKey(CompetitorStore, on_delete=models.CASCADE, related_name="listings")
    external_id = models.CharField(max_length=64)
    sku = models.CharField("SKU", max_length=64, blank=True)
    name = models.CharField(max_length=200, blank=True)
    product = optional_link(Product, on_delete=models.SET_NULL, related_name="competitor_listings")
    price = models.DecimalField(**MONEY, validators=[MinValueValidator(0)])
    in_stock = models.BooleanField(default=True)
    first_seen_at = models.DateTimeField()
    seen_at = models.DateTimeField()

    class Meta:
        ordering = ["competitor_store", "sku"]
        constraints = [
            models.UniqueConstraint(fields=["competitor_store", "external_id"], name="listing_unique_external_id"),
            models.CheckConstraint(condition=Q(price__gte=0), name="listing_price_not_negative"),
        ]
        # The repricer and the monitoring view read a product's offers; the index carries what they filter on.
        indexes = [models.Index(fields=["product", "seen_at", "price"], name="listing_product_fresh")]

    def __str__(self):
        return f"{self.competitor_store}: {self.sku or self.external_id} at {self.price}"


class RepricingRule(models.Model):
    """How a product's price follows its competitors. A rule without a product is the store's default."""

    class Strategy(models.TextChoices):
        BEAT_BY_AMOUNT = "beat_amount", "Beat the lowest competitor by an amount"
        BEAT_BY_PERCENT = "beat_percent", "Beat the lowest competitor by a percentage"
        MATCH_LOWEST = "match", "Match the lowest competitor"

    class Mode(models.TextChoices):
        SUGGEST = "suggest", "Suggest (an Admin accepts)"
        LIVE = "live", "Live (prices change automatically)"

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="repricing_rules")
    product = optional_link(
        Product,
        on_delete=models.CASCADE,
        related_name="repricing_rules",
        help_text="Leave empty for the store's default rule.",
    )
    floor = models.DecimalField(**MONEY, validators=[MinValueValidator(0)], help_text="Never price below this.")
    ceiling = models.DecimalField(**MONEY, validators=[MinValueValidator(0)], help_text="Never price above this.")
    strategy = models.CharField(max_length=12, choices=Strategy.choices, default=Strategy.BEAT_BY_AMOUNT)
    beat_by = models.DecimalField(
        max_digits=8,
        decimal_places=2,
        default=Decimal("0.01"),
        validators=[MinValueValidator(0)],
        help_text="The amount, or the percentage, to undercut the lowest competitor by.",
    )
    ceiling_when_alone = models.BooleanField(
        default=True, help_text="With no competitor offer to follow, move to the ceiling (otherwise hold the price)."
    )
    excluded_competitors = models.ManyToManyField(Competitor, blank=True, related_name="+")
    step = models.DecimalField(
        max_digits=8,
        decimal_places=2,
        default=Decimal("0.01"),
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text="Prices are rounded down to a multiple of this (0.01, 0.10, 1.00...).",
    )
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.SUGGEST)
    active = models.BooleanField(default=True)
    history = HistoricalRecords(m2m_fields=[excluded_competitors])

    class Meta:
        ordering = ["store", "product"]
        constraints = [
            models.UniqueConstraint(fields=["store", "product"], name="repricing_rule_unique_per_product"),
            models.UniqueConstraint(
                fields=["store"], condition=Q(product__isnull=True), name="repricing_rule_one_default_per_store"
            ),
            models.CheckConstraint(condition=Q(floor__lte=F("ceiling")), name="repricing_floor_not_above_ceiling"),
            models.CheckConstraint(condition=Q(floor__gte=0, beat_by__gte=0), name="repricing_amounts_not_negative"),
            models.CheckConstraint(condition=Q(step__gt=0), name="repricing_step_positive"),
        ]

    def __str__(self):
        return f"{self.product or 'Default'} ({self.store}): {self.floor}–{self.ceiling}, {self.get_mode_display()}"

    def clean(self):
        errors = {}
        if self.floor is not None and self.floor < 0:
            errors["floor"] = "A price cannot be negative."
        if self.ceiling is not None and self.ceiling < 0:
            errors["ceiling"] = "A price cannot be negative."
        if self.floor is not None and self.ceiling is not None and self.floor > self.ceiling:
            errors["floor"] = "The floor must not be above the ceiling."
        if self.strategy == self.Strategy.BEAT_BY_PERCENT and self.beat_by is not None and self.beat_by >= 100:
            errors["beat_by"] = "A percentage must be below 100."
        if self.product_id and self.store_id and self.product.store_id != self.store_id:
            errors["product"] = "The product must belong to the rule's store."
        if errors:
            raise ValidationError(errors)


class RepricingRun(models.Model):
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    products_checked = models.PositiveIntegerField(default=0)
    prices_changed = models.PositiveIntegerField(default=0)
    suggestions = models.PositiveIntegerField(default=0)
    suspicious_offers = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self):
        return f"Repricing run {self.started_at:%Y-%m-%d %H:%M}"


class RepricingDecision(models.Model):
    """What one run decided for one product: a suggestion (suggest mode) or a price it set (live mode)."""

    class Status(models.TextChoices):
        SUGGESTED = "suggested"
        ACCEPTED = "accepted", "Accepted by staff"
        APPLIED = "applied", "Applied automatically"
        SUPERSEDED = "superseded", "Superseded by a later run"

    run = models.ForeignKey(RepricingRun, on_delete=models.CASCADE, related_name="decisions")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="repricing_decisions")
    rule = models.ForeignKey(RepricingRule, null=True, on_delete=models.SET_NULL, related_name="+")
    old_price = models.DecimalField(**MONEY)
    new_price = models.DecimalField(**MONEY)
    lowest_listing = optional_link(
        CompetitorListing,
        on_delete=models.SET_NULL,  # done by Django's delete, so it holds without a database constraint
        help_text="The competitor offer the new price follows (none: no usable offer).",
        # A record of what the run saw. A database constraint would be checked at commit by locking one listing
        # row per decision: 100,000 scattered rows of the largest table, half a full run's commit.
        db_constraint=False,
    )
    suspicious_offers = models.PositiveIntegerField(default=0)
    at_floor = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices)
    decided_at = models.DateTimeField()
    accepted_by = actor_link(on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-decided_at"]
        indexes = [
            models.Index(fields=["product", "status"], name="decision_product_status"),
            models.Index(fields=["status", "-decided_at"], name="decision_status_recent"),
        ]

    def __str__(self):
        return f"{self.product_id}: {self.old_price} → {self.new_price} ({self.status})"


class MarketplaceAccount(models.Model):
    """A store's account on the marketplace: where its orders come from, and its price-list token."""

    store = models.OneToOneField(Store, on_delete=models.CASCADE, related_name="marketplace_account")
    orders_feed_url = models.URLField(blank=True, help_text="The marketplace's order export (JSON).")
    price_list_token = models.CharField(max_length=64, unique=True, default=new_price_list_token, editable=False)
    token_rotated_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_orders_import_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_orders_import_error = models.TextField(blank=True, editable=False)
    history = HistoricalRecords(excluded_fields=["price_list_token"])

    class Meta:
        ordering = ["store"]

    def __str__(self):
        return f"Marketplace account of {self.store}"


class AlertKind(models.TextChoices):
    """The kinds a staff member can route; other kinds raised by backoffice.alerts follow JOB_FAILED's choice.

    Each staff member's AlertPreference says, per kind, whether it shows in the admin, goes by Telegram, or both.
    """

    UNDERCUT = "undercut", "Undercut by a competitor"
    AT_FLOOR = "at_floor", "Product at its floor price"
    FEED_FAILING = "feed_failing", "Feed failing or stale"
    NEW_ORDER = "new_order", "New orders"
    JOB_FAILED = "job_failed", "Scheduled job failed"


class UserAlert(models.Model):
    """A staff alert (backoffice.UserAlert) as one staff member gets it: in their notification centre and live
    stream (`in_app`), and/or by Telegram, as their AlertPreference says."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="user_alerts")
    kind = models.CharField(max_length=50)
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True)
    in_app = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    telegram_sent_at = models.DateTimeField(null=True, blank=True)
    telegram_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-pk"]
        # The centre and the live stream read one user's alerts newest first / after an id.
        indexes = [models.Index(fields=["user", "in_app", "id"], name="staff_alert_user_stream")]

    def __str__(self):
        return self.subject


class AlertPreference(models.Model):
    """Where one staff member wants one kind of alert. Without a row: in the admin, not by Telegram."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_preferences")
    kind = models.CharField(max_length=50, choices=AlertKind.choices)
    in_app = models.BooleanField("in the admin (live)", default=True)
    telegram = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="alert_preference_unique_kind")]

    def __str__(self):
        return f"{self.user}: {self.kind}"


class TelegramChat(models.Model):
    """The Telegram chat a staff member linked, where the bot sends their alerts."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="telegram_chat")
    chat_id = models.CharField(
        max_length=32,
        help_text="Your numeric chat id: message the bot, then ask an Admin or use @userinfobot to find it.",
    )

    def __str__(self):
        return f"{self.user} → {self.chat_id}"
