"""Members buying apps with credits (credits are points) and membership plans paid from the same ledger."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from simple_history.models import HistoricalRecords

from backoffice.models import actor_link, optional_link, stamped
from catalog.models import App
from growth.models import Redemption
from moderation.models import RewardEntry


class Purchase(models.Model):
    """A member's purchase of an app, paid with one `purchase` ledger entry; a refund is one `refund` entry.

    With a campaign, `price_paid` is the app's credit price less the redemption's (whole-credit) discount.
    """

    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="purchases")
    app = models.ForeignKey(App, on_delete=models.PROTECT, related_name="purchases")
    price_paid = models.PositiveIntegerField(help_text="Credits (points) taken from the member's balance.")
    redemption = optional_link(
        Redemption,
        one_to_one=True,
        on_delete=models.PROTECT,
        editable=False,
        help_text="The campaign discount taken off the app's price (its cart is this purchase).",
    )
    idempotency_key = models.CharField(max_length=64)
    request_hash = models.CharField(max_length=64, editable=False, help_text="What the keyed request asked for.")
    entry = optional_link(RewardEntry, one_to_one=True, on_delete=models.PROTECT, editable=False)
    refunded_at = models.DateTimeField(null=True, blank=True, editable=False)
    refunded_by = actor_link(on_delete=models.PROTECT, editable=False)
    refund_reason = models.TextField(blank=True, editable=False)
    refund_entry = optional_link(RewardEntry, one_to_one=True, on_delete=models.PROTECT, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("refund_purchase", "Can refund an app purchase")]
        indexes = [
            models.Index(fields=["created_at", "id"]),
            models.Index(fields=["updated_at", "id"]),
            models.Index(fields=["app", "created_at"]),
            models.Index(fields=["refunded_at"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["member", "app"], condition=models.Q(refunded_at__isnull=True), name="one_active_purchase"
            ),
            models.UniqueConstraint(fields=["member", "idempotency_key"], name="one_purchase_per_idempotency_key"),
        ]

    def __str__(self):
        return f"{self.member} bought {self.app}"

    refunded = stamped("refunded_at")


class Plan(models.Model):
    """A membership plan (tariff): a price in points for a number of days of perks."""

    name = models.CharField(max_length=80, unique=True)
    description = models.TextField(blank=True)
    price = models.PositiveIntegerField(validators=[MinValueValidator(1)], help_text="Points charged per period.")
    duration_days = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(3660)])
    points_multiplier = models.DecimalField(
        max_digits=4,
        decimal_places=2,
        default=Decimal("1.00"),
        validators=[MinValueValidator(Decimal("1.00")), MaxValueValidator(Decimal("10.00"))],
        help_text="Points on approved proofs are multiplied by this while the plan runs (1 = no bonus).",
    )
    member_campaigns = models.BooleanField(
        default=False, help_text="Subscribers may redeem campaigns marked for members only."
    )
    active = models.BooleanField(default=True, help_text="Inactive plans cannot be subscribed to.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["price", "name"]

    def __str__(self):
        return self.name


class Subscription(models.Model):
    """One paid period of a plan for a member; the rows of a member are their subscription history.

    `commerce.plans.subscribe` opens one (at most one active per member) and `expire_subscriptions` closes it.
    """

    class Status(models.TextChoices):
        ACTIVE = "active"
        EXPIRED = "expired"

    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="subscriptions")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    price_paid = models.PositiveIntegerField()
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    entry = optional_link(RewardEntry, one_to_one=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at", "-id"]
        indexes = [models.Index(fields=["status", "ends_at"]), models.Index(fields=["created_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["member"], condition=models.Q(status="active"), name="one_active_subscription_per_member"
            ),
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="subscription_ends_after_start"
            ),
        ]

    def __str__(self):
        return f"{self.member} on {self.plan} until {self.ends_at:%Y-%m-%d}"
