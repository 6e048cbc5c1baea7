import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from .counters import CounterFieldsModel

REFERRAL_CODE_BYTES = 6  # 8 url-safe characters: 2**48 codes, not enumerable.


def new_referral_code():
    return secrets.token_urlsafe(REFERRAL_CODE_BYTES)


# Field helpers shared by every app's models (this module is the bottom of the import chain). Each returns a plain
# Django field with the same definition as spelled out by hand, so migrations see no difference.


def optional_link(to, *, on_delete, one_to_one=False, **options):
    """A link that may be empty (null in the database, blank in forms); no reverse accessor unless named.

    `on_delete` is always spelled out: whether the target may go (SET_NULL) or must stay (PROTECT) is the decision.
    """
    field_class = models.OneToOneField if one_to_one else models.ForeignKey
    options = {"null": True, "blank": True, "related_name": "+", **options}
    return field_class(to, on_delete=on_delete, **options)


def actor_link(*, on_delete, **options):
    """Who did something to the row (created, reviewed, refunded, revoked it...): empty until someone acts.

    No reverse accessor: a user's actions are read from the rows, never as `user.<something>_set`.
    """
    return optional_link(settings.AUTH_USER_MODEL, on_delete=on_delete, **options)


def stamped(field_name):
    """A read-only flag that is true once the timestamp `field_name` is set: the time is the state (refunded...)."""
    return property(lambda obj: getattr(obj, field_name) is not None, doc=f"Whether `{field_name}` is set.")


class NamedModel(models.Model):
    """A model known by its `name` (each declares its own): listed in name order and shown as its name."""

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self):
        return self.name


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)

    def get_by_natural_key(self, username):
        return self.get(email__iexact=username)


class User(CounterFieldsModel, AbstractUser):
    """A person: a member of the public site, or staff in one of the role groups.

    `points_balance` is written only by the rewards ledger (moderation.ledger.post_entry),
    which keeps it equal to the sum of the user's ledger entries; no other save can write it (CounterFieldsModel).
    """

    counter_fields = ("points_balance",)

    username = None
    email = models.EmailField("email address", unique=True)
    display_name = models.CharField(
        db_default="",
        max_length=40,
        blank=True,
        help_text="The name others see (leaderboard); chosen at sign-up, never the email.",
    )
    phone = models.CharField(max_length=20, blank=True, help_text="E.164, e.g. +15551234567")
    phone_verified_at = models.DateTimeField(null=True, blank=True)
    points_balance = models.IntegerField(default=0, editable=False)
    referral_code = models.CharField(max_length=16, unique=True, default=new_referral_code, editable=False)

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    objects = UserManager()

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
            models.UniqueConstraint(fields=["phone"], condition=~models.Q(phone=""), name="user_phone_unique_when_set"),
        ]
        # Signups and verifications per day: the reporting dashboard counts today's live.
        indexes = [models.Index(fields=["date_joined"]), models.Index(fields=["phone_verified_at"])]

    def __str__(self):
        return self.email

    phone_verified = stamped("phone_verified_at")


class Notification(models.Model):
    """An in-app message to a user (proof approved, rejected, reward invalidated...)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self):
        return self.subject


class TaskRun(models.Model):
    """One attempt of a background job (`backoffice.jobs.recorded_task`): when, how it ended, rows, error.

    Written by `backoffice.jobs` only; staff read them under Schedules → Task runs (a long job shows a progress bar).
    """

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        RETRYING = "retrying", "Failed, will retry"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    task_name = models.CharField(max_length=200, db_index=True)
    task_id = models.CharField(max_length=255, blank=True, db_index=True)
    requested_by = actor_link(
        on_delete=models.SET_NULL, help_text="Who pressed Run now or started the job (empty for scheduled runs)."
    )
    started_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    attempt = models.PositiveIntegerField(default=1)
    rows = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    # How far a long job is (`backoffice.jobs.report_progress`), for progress bars; total 0 = not known yet.
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at"]
        # "When did this task last succeed?" (missed-schedule check) reads this index only.
        indexes = [models.Index(fields=["task_name", "status", "started_at"], name="taskrun_last_by_status")]

    def __str__(self):
        return f"{self.task_name} at {self.started_at:%Y-%m-%d %H:%M} ({self.status})"


class StaffAlert(models.Model):
    """Something staff must look at (a failed job, a missed schedule...), raised by `alerts.alert_staff`.

    The same kind and subject raised again within ALERT_REPEAT_SECONDS only counts a repeat: one failing job
    does not flood inboxes.
    """

    kind = models.CharField(max_length=50, db_index=True)
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)
    groups = models.JSONField(default=list)
    repeats = models.PositiveIntegerField(default=0)
    raised_at = models.DateTimeField(auto_now_add=True)
    last_raised_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-last_raised_at"]

    def __str__(self):
        return f"{self.kind}: {self.subject}"


class Delivery(models.Model):
    """One outgoing email or SMS: queued by the request, sent by a task, retried with back-off, never lost silently.

    Written by `backoffice.delivery` only; staff see them (and retry a failed one) under Deliveries.
    """

    class Channel(models.TextChoices):
        EMAIL = "email"
        SMS = "sms", "SMS"

    class Status(models.TextChoices):
        QUEUED = "queued"
        SENDING = "sending"
        SENT = "sent"
        RETRYING = "retrying", "Failed, will retry"
        FAILED = "failed"

    channel = models.CharField(max_length=10, choices=Channel.choices)
    to = models.CharField(max_length=500, help_text="Recipients, comma-separated.")
    subject = models.CharField(max_length=300, blank=True)
    message = models.JSONField(default=dict, help_text="What is needed to send it again.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    provider_id = models.CharField(max_length=100, blank=True, help_text="The provider's message id, once sent.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True, help_text="When the retry sweep sends it again.")
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "deliveries"
        permissions = [("retry_delivery", "Can send a delivery again")]
        # The retry sweep reads the due ones only.
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due")]

    def __str__(self):
        return f"{self.get_channel_display()} to {self.to}: {self.subject or '(no subject)'}"


class LoginAttemptWindow(models.Model):
    """Log-in attempts counted under one key (a hashed identifier or a client IP) since `window_started_at`.

    Written only by backoffice.login_policy, with the row locked.
    """

    key = models.CharField(max_length=100, unique=True)
    attempts = models.PositiveIntegerField(default=0)
    window_started_at = models.DateTimeField()

    def __str__(self):
        return f"{self.key}: {self.attempts}"
