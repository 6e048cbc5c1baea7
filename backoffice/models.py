import secrets

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower

from .counters import CounterFieldsModel

REFERRAL_CODE_BYTES = 6  # 8 url-safe characters: 2**48 codes, not enumerable.


def new_referral_code():
    return secrets.token_urlsafe(REFERRAL_CODE_BYTES)


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

    `points_balance` is written only by the rewards ledger (moderation.services.post_entry),
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

    @property
    def phone_verified(self):
        return self.phone_verified_at is not None


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
