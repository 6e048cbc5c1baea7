import secrets
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Sum, Value
from django.db.models.functions import Coalesce
from django_otp.models import SideChannelDevice, ThrottlingMixin
from simple_history.models import HistoricalRecords

from backoffice.counters import CounterFieldsModel
from backoffice.models import actor_link, optional_link, stamped
from catalog.models import App, Category


class Referral(models.Model):
    """`referred` signed up with `referrer`'s code. One per referred user; the credit is posted once."""

    referrer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="referrals_made")
    referred = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="referral")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    credited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["referrer", "credited_at"]), models.Index(fields=["credited_at"])]
        constraints = [
            models.CheckConstraint(condition=~models.Q(referrer=models.F("referred")), name="no_self_referral")
        ]

    def __str__(self):
        return f"{self.referrer} → {self.referred}"


class ReferralVisit(models.Model):
    """Someone opened a referral link: the top of the referral funnel."""

    referrer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="referral_visits")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self):
        return f"visit for {self.referrer_id} at {self.created_at}"


def default_max_cart_total():
    return Decimal(settings.CAMPAIGN_DEFAULT_MAX_CART_TOTAL)


VOUCHER_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud at a till


def new_voucher_code():
    return "".join(secrets.choice(VOUCHER_ALPHABET) for _ in range(10))


def counter_sums(prefix):
    """Aggregates of the shards' counters (`prefix`: the path from the queried model to the shards)."""
    return {
        "uses_count": Coalesce(Sum(f"{prefix}uses_count"), 0),
        "budget_spent": Coalesce(
            Sum(f"{prefix}budget_spent"),
            Value(Decimal(0)),
            output_field=models.DecimalField(max_digits=12, decimal_places=2),
        ),
    }


class ShardTotal:
    """A campaign counter (`uses_count`, `budget_spent`) that is the sum over the campaign's shards: read once per
    instance on first use, or set by `with_counters()`'s annotation (an annotation assigns the attribute)."""

    def __init__(self, clean=None):
        self.clean = clean or (lambda value: value)

    def __set_name__(self, owner, name):
        self.slot = f"_{name}"

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        if self.slot not in instance.__dict__:
            instance._read_counters()
        return instance.__dict__[self.slot]

    def __set__(self, instance, value):
        instance.__dict__[self.slot] = self.clean(value)

    @classmethod
    def forget(cls, instance):
        """Drop the totals read on `instance`: the next access reads them again."""
        for attribute in vars(type(instance)).values():
            if isinstance(attribute, cls):
                instance.__dict__.pop(attribute.slot, None)


class CampaignQuerySet(models.QuerySet):
    def with_counters(self):
        """Each campaign's `uses_count` and `budget_spent` summed in the same query (lists: no query per row)."""
        shards = CampaignCounterShard.objects.filter(campaign=models.OuterRef("pk")).order_by().values("campaign")
        return self.annotate(
            **{
                name: Coalesce(
                    models.Subquery(shards.annotate(total=Sum(field)).values("total"), output_field=output),
                    Value(zero),
                    output_field=output,
                )
                for name, field, output, zero in (
                    ("uses_count", "uses_count", models.IntegerField(), 0),
                    ("budget_spent", "budget_spent", models.DecimalField(max_digits=12, decimal_places=2), Decimal(0)),
                )
            }
        )


class Campaign(CounterFieldsModel):
    """A discount users can redeem, within its dates, budget and limits.

    Its uses and budget spent are kept in `CampaignCounterShard` rows (so concurrent redemptions do not queue on this
    one row): `uses_count` and `budget_spent` read their sums (or the `with_counters()` annotation).
    """

    class DiscountKind(models.TextChoices):
        PERCENT = "percent", "Percent of cart"
        FIXED = "fixed", "Fixed amount"

    class Audience(models.TextChoices):
        ALL = "all", "All users"
        NEW_USERS = "new", "New users"
        MIN_POINTS = "points", "Users with at least N points"
        MEMBERS = "members", "Plan members (member-only)"

    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    discount_kind = models.CharField(max_length=8, choices=DiscountKind.choices, default=DiscountKind.PERCENT)
    discount_value = models.DecimalField(max_digits=10, decimal_places=2, validators=[MinValueValidator(0)])
    min_cart_total = models.DecimalField(max_digits=10, decimal_places=2, default=0, validators=[MinValueValidator(0)])
    max_cart_total = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        default=default_max_cart_total,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text="A cart the member declares is discounted as if it were at most this much.",
    )
    stackable = models.BooleanField(
        db_default=False,
        default=False,
        help_text="May be combined with other campaigns on one cart (never past the cart's total).",
    )
    points_cost = models.PositiveIntegerField(
        db_default=0, default=0, help_text="Points taken from the user on redemption."
    )
    eligible_apps = models.ManyToManyField(App, blank=True, related_name="campaigns")
    eligible_categories = models.ManyToManyField(Category, blank=True, related_name="campaigns")
    audience = models.CharField(max_length=8, choices=Audience.choices, default=Audience.ALL)
    new_user_days = models.PositiveIntegerField(default=30, help_text="For 'New users': joined within this many days.")
    min_points = models.PositiveIntegerField(default=0, help_text="For 'Users with at least N points'.")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    max_uses = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: unlimited.")
    budget = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, help_text="Total discount to give; empty: unlimited."
    )
    per_user_limit = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    active = models.BooleanField(default=True)
    created_by = actor_link(on_delete=models.SET_NULL, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    objects = CampaignQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="campaign_ends_after_start"
            ),
        ]

    def __str__(self):
        return self.name

    # The counters: sums over the shards, read once per instance (or set by `with_counters()`).
    uses_count = ShardTotal()
    # To the cent, as the shards keep it (SQLite sums decimals as floats, without their places).
    budget_spent = ShardTotal(clean=lambda value: Decimal(value).quantize(Decimal("0.01")))

    def _read_counters(self):
        totals = {"uses_count": 0, "budget_spent": Decimal(0)}
        if self.pk is not None:
            totals = CampaignCounterShard.objects.filter(campaign_id=self.pk).aggregate(**counter_sums(""))
        self.uses_count, self.budget_spent = totals["uses_count"], totals["budget_spent"]

    def refresh_from_db(self, *args, **kwargs):
        ShardTotal.forget(self)
        return super().refresh_from_db(*args, **kwargs)


class CampaignCounterShard(CounterFieldsModel):
    """One slice of a campaign's uses and budget, so that concurrent redemptions lock different rows.

    A campaign's `max_uses` and `budget` are split over CAMPAIGN_COUNTER_SHARDS rows (`max_uses`/`budget` here: this
    slice's share, None when the campaign has no cap). A redemption claims a slice with room (FOR UPDATE SKIP LOCKED)
    and moves its counters in one conditional UPDATE; the sum of the shares never exceeds the campaign's caps, so the
    campaign is never oversold. Every change of the campaign's settings re-splits the shares (all slices locked) and
    bumps `terms_version`, which a redemption's UPDATE must still match: a price changed meanwhile is never charged.
    A void gives the use and budget back (all slices locked: voids are rare).
    """

    counter_fields = ("max_uses", "budget", "uses_count", "budget_spent", "terms_version")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="counter_shards")
    slot = models.PositiveSmallIntegerField()
    max_uses = models.PositiveIntegerField(null=True, blank=True)
    budget = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    uses_count = models.PositiveIntegerField(default=0)
    budget_spent = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    terms_version = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "slot"], name="campaign_counter_shard_slot"),
            models.CheckConstraint(
                condition=models.Q(max_uses__isnull=True) | models.Q(uses_count__lte=models.F("max_uses")),
                name="campaign_shard_uses_within_max",
            ),
            models.CheckConstraint(
                condition=models.Q(budget__isnull=True) | models.Q(budget_spent__lte=models.F("budget")),
                name="campaign_shard_spend_within_budget",
            ),
            models.CheckConstraint(condition=models.Q(budget_spent__gte=0), name="campaign_shard_spend_not_negative"),
        ]

    def __str__(self):
        return f"campaign {self.campaign_id} slot {self.slot}: {self.uses_count}/{self.max_uses}"


class Redemption(models.Model):
    """A member used a campaign on one cart. Voiding gives back the use, budget and points; nothing is deleted."""

    # What the cart held and what the redemption gave it: shown by the API and on the staff's redemption page.
    CART_FIELDS = ["app", "cart_reference", "cart_total", "discount_amount", "points_cost", "voucher_code"]

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="redemptions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="redemptions")
    idempotency_key = models.CharField(max_length=64)
    app = optional_link(App, on_delete=models.PROTECT)
    cart_reference = models.CharField(
        db_default="",
        max_length=64,
        blank=True,
        help_text="What the discount was applied to: a purchase or an order reference.",
    )
    cart_total = models.DecimalField(max_digits=12, decimal_places=2)
    discount_amount = models.DecimalField(max_digits=12, decimal_places=2)
    points_cost = models.PositiveIntegerField(default=0, help_text="Points charged (the cost the member was shown).")
    voucher_code = models.CharField(max_length=16, unique=True, null=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    voided_at = models.DateTimeField(null=True, blank=True, editable=False)
    voided_by = actor_link(on_delete=models.PROTECT, editable=False)
    void_reason = models.TextField(db_default="", blank=True, editable=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]
        permissions = [("void_redemption", "Can void a redemption")]
        indexes = [models.Index(fields=["campaign", "user"]), models.Index(fields=["user", "cart_reference"])]
        constraints = [
            models.UniqueConstraint(fields=["user", "idempotency_key"], name="redemption_idempotency_key_per_user")
        ]

    def __str__(self):
        return f"{self.user_id} redeemed {self.campaign_id} (-{self.discount_amount})"

    voided = stamped("voided_at")


class ReferrerScore(models.Model):
    """A referrer's count of credited referrals, kept beside the ledger credit so the leaderboard reads one index."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="referrer_score"
    )
    credited_referrals = models.PositiveIntegerField(default=0)
    last_credited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # The leaderboard's order, read by keyset seeks (growth.selectors): every page is an index range scan.
        indexes = [models.Index(models.F("credited_referrals").desc(), "user", name="referrer_score_keyset")]

    def __str__(self):
        return f"{self.user_id}: {self.credited_referrals}"


class PhoneDevice(ThrottlingMixin, SideChannelDevice):
    """A django-otp device that sends its one-time code by SMS to the user's phone.

    Verification failures back off exponentially (ThrottlingMixin); after OTP_MAX_ATTEMPTS wrong codes the
    code is burned and a new one must be sent. Sends are rate-limited by `last_sent_at` and a per-hour window.
    """

    phone = models.CharField(max_length=20)
    failed_attempts = models.PositiveIntegerField(default=0, help_text="Wrong codes against the current code.")
    last_sent_at = models.DateTimeField(null=True, blank=True)
    send_window_started_at = models.DateTimeField(null=True, blank=True)
    sends_in_window = models.PositiveIntegerField(default=0)

    def get_throttle_factor(self):
        return settings.OTP_PHONE_THROTTLE_FACTOR

    def __str__(self):
        return f"phone {self.phone} of {self.user_id}"
