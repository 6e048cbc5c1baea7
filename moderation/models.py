from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from simple_history.models import HistoricalRecords

from backoffice.models import actor_link, optional_link
from backoffice.storage import private_storage
from backoffice.uploads import RandomName, validate_image
from catalog.models import App


class Download(models.Model):
    """A user's claim that they installed an app; at most one per user and app."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="downloads")
    app = models.ForeignKey(App, on_delete=models.PROTECT, related_name="downloads")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["user", "app"], name="one_download_per_user_and_app")]

    def __str__(self):
        return f"{self.user} ↓ {self.app}"


class ScreenshotProof(models.Model):
    """A screenshot a user uploads to prove a download; moderators approve or reject it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending review"
        APPROVED = "approved"
        REJECTED = "rejected"
        INVALIDATED = "invalidated"

    download = models.ForeignKey(Download, on_delete=models.PROTECT, related_name="proofs")
    image = models.ImageField(upload_to=RandomName("proofs"), storage=private_storage, validators=[validate_image])
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    submitted_at = models.DateTimeField(auto_now_add=True)
    reviewer = actor_link(on_delete=models.PROTECT)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True)
    claimed_by = actor_link(on_delete=models.SET_NULL)
    claimed_until = models.DateTimeField(null=True, blank=True)
    image_hash = models.CharField(
        db_default="",
        max_length=16,
        blank=True,
        db_index=True,
        editable=False,
        help_text="Perceptual hash (pHash, hex) of the image.",
    )
    near_duplicate_of = optional_link(
        "self",
        on_delete=models.SET_NULL,
        editable=False,
        help_text="Another member's proof that looks almost the same; shown to the moderator beside this one.",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["submitted_at"]
        permissions = [
            ("moderate_screenshotproof", "Can approve or reject screenshot proofs"),
            ("invalidate_reward", "Can invalidate an approved reward"),
        ]
        indexes = [
            models.Index(fields=["status", "submitted_at"]),
            models.Index(fields=["submitted_at"]),
            models.Index(fields=["reviewed_at"]),
            models.Index(fields=["reviewer", "reviewed_at"], name="proof_reviewer_reviewed_at"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["download"], condition=models.Q(status="pending"), name="one_pending_proof_per_download"
            )
        ]

    def __str__(self):
        return f"Proof #{self.pk} ({self.get_status_display()})"


class RewardEntry(models.Model):
    """An append-only line of the points ledger. A user's balance is the sum of their entries.

    Written by `moderation.ledger.post_entry` only, with the user's row locked; never edited or deleted (an
    invalidated reward is a new, negative `invalidate` line with the same proof as its source).
    """

    class Kind(models.TextChoices):
        EARN = "earn", "Earned (approved proof)"
        INVALIDATE = "invalidate", "Invalidated reward"
        REFERRAL = "referral", "Referral bonus"
        REDEEM = "redeem", "Redeemed"
        ADJUST = "adjust", "Manual adjustment"
        PURCHASE = "purchase", "App purchase"
        REFUND = "refund", "Purchase refund"
        PLAN = "plan", "Plan subscription"
        VOID = "void", "Voided redemption"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reward_entries")
    amount = models.IntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    source_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.PROTECT)
    source_id = models.PositiveBigIntegerField(null=True, blank=True)
    source = GenericForeignKey("source_type", "source_id")
    actor = actor_link(on_delete=models.PROTECT)
    reason = models.TextField(blank=True)
    balance_after = models.IntegerField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "reward entries"
        indexes = [models.Index(fields=["user", "-created_at"]), models.Index(fields=["kind", "created_at"])]
        constraints = [
            # At most one earn / invalidate / referral / redeem entry per source object: crediting is idempotent.
            models.UniqueConstraint(
                fields=["kind", "source_type", "source_id"],
                condition=~models.Q(kind="adjust"),
                name="one_ledger_entry_per_kind_and_source",
            ),
            models.CheckConstraint(condition=~models.Q(amount=0), name="ledger_amount_not_zero"),
        ]

    def __str__(self):
        return f"{self.amount:+d} {self.get_kind_display()} for {self.user_id}"
