"""Write paths of the growth app: sign-up, phone verification, referral credit (campaigns: growth.campaigns)."""

import logging
import math
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from backoffice.delivery import queue_sms
from backoffice.models import Notification
from backoffice.services import notify_user
from moderation.ledger import post_entry
from moderation.models import RewardEntry

from . import selectors
from .identity import InvalidPhone, canonical_email, normalise_phone
from .models import PhoneDevice, Referral, ReferralVisit, ReferrerScore

CENT = Decimal("0.01")
logger = logging.getLogger(__name__)


def _setting(name, default):
    return getattr(settings, name, default)


# --- sign-up and referrals -------------------------------------------------------------------------------


# One answer for a taken email and a taken phone, so sign-up does not tell which accounts exist.
SIGNUP_REFUSED_GENERIC = (
    "We could not create an account with these details. If you already have an account, log in or reset your password."
)


class SignupRefused(Exception):
    """Sign-up cannot go ahead; `field` names the form field at fault (or None)."""

    def __init__(self, message, field=None):
        self.field = field
        super().__init__(message)


class ReferralRefused(SignupRefused):
    def __init__(self, message):
        super().__init__(message, field="referral_code")


def find_referrer(code):
    """The active user owning referral `code`, or None."""
    code = (code or "").strip()
    if not code:
        return None
    return get_user_model().objects.filter(referral_code=code, is_active=True).first()


def record_referral_visit(code):
    """Someone opened /r/<code>/: count it for the referrer. Returns the referrer or None for an unknown code."""
    referrer = find_referrer(code)
    if referrer is not None:
        ReferralVisit.objects.create(referrer=referrer)
    return referrer


def sign_up(*, email, password, phone, referral_code="", display_name=""):
    """Create a member, with a Referral when a valid code is given. The phone stays unverified until OTP.

    `display_name` is what others see (the leaderboard, the referrer's notifications); never the email."""
    User = get_user_model()
    email = User.objects.normalize_email(email).strip().lower()
    try:
        phone = normalise_phone(phone)
    except InvalidPhone as exc:
        raise SignupRefused(str(exc), field="phone") from exc
    if User.objects.filter(Q(email__iexact=email) | Q(phone=phone)).exists():
        raise SignupRefused(SIGNUP_REFUSED_GENERIC)
    referrer = None
    if referral_code:
        referrer = find_referrer(referral_code)
        if referrer is None:
            raise ReferralRefused("This referral code does not exist.")
        if canonical_email(referrer.email) == canonical_email(email) or (referrer.phone and referrer.phone == phone):
            raise ReferralRefused("You cannot refer yourself.")
    validate_password(password, User(email=email, phone=phone))
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                email=email, password=password, phone=phone, display_name=display_name.strip()[:40]
            )
            if referrer is not None:
                create_referral(referrer=referrer, referred=user)
    except IntegrityError as exc:
        raise SignupRefused(SIGNUP_REFUSED_GENERIC) from exc
    return user


def create_referral(*, referrer, referred):
    """Link `referred` to `referrer`. Refused for self-referral, a second referral, and cycles."""
    if referrer.pk == referred.pk:
        raise ReferralRefused("You cannot refer yourself.")
    if Referral.objects.filter(referred=referred).exists():
        raise ReferralRefused("This account was already referred.")
    ancestor, seen = referrer.pk, set()
    while ancestor is not None and ancestor not in seen:
        if ancestor == referred.pk:
            raise ReferralRefused("Referral cycles are not allowed.")
        seen.add(ancestor)
        ancestor = Referral.objects.filter(referred_id=ancestor).values_list("referrer_id", flat=True).first()
    try:
        with transaction.atomic():
            referral = Referral.objects.create(referrer=referrer, referred=referred)
    except IntegrityError as exc:
        raise ReferralRefused("This account was already referred.") from exc
    bonus = _setting("REFERRAL_BONUS_POINTS", 50)
    notify_user(
        referrer,
        f"{selectors.public_name(referred)} signed up with your link",
        f"You get {bonus} points once both of you have verified a phone number.",
    )
    return referral


def credit_referral(referral):
    """Post the referrer's bonus once, when the referred user's phone and the referrer's phone are both verified.

    Idempotent: the ledger's (kind, source) uniqueness and the locked referral row make a second call a no-op.
    Returns True when this call credited.
    """
    bonus = _setting("REFERRAL_BONUS_POINTS", 50)
    with transaction.atomic():
        referral = Referral.objects.select_for_update().select_related("referrer", "referred").get(pk=referral.pk)
        if referral.credited_at is not None:
            return False
        if not (referral.referred.phone_verified and referral.referrer.phone_verified):
            return False
        post_entry(
            user=referral.referrer,
            amount=bonus,
            kind=RewardEntry.Kind.REFERRAL,
            source=referral,
            reason=f"Referred {selectors.public_name(referral.referred)}",
        )
        notify_user(
            referral.referrer,
            f"You earned {bonus} points",
            f"{selectors.public_name(referral.referred)} verified their phone: your referral bonus is in your balance.",
        )
        now = timezone.now()
        Referral.objects.filter(pk=referral.pk).update(credited_at=now)
        score, _ = ReferrerScore.objects.get_or_create(user_id=referral.referrer_id)
        ReferrerScore.objects.filter(pk=score.pk).update(
            credited_referrals=F("credited_referrals") + 1, last_credited_at=now
        )
        transaction.on_commit(selectors.invalidate_leaderboard)
    return True


def credit_waiting_referrals(user=None):
    """Credit every referral whose two phones are verified but which was never credited; only `user`'s (as
    referrer or referred) when given. Returns how many it credited.

    Called for the user right after a phone verification, and for everyone by the scheduled catch-up, which pays
    a credit that failed at verification. Safe to run at any time: credit_referral is idempotent.
    """
    waiting = Referral.objects.filter(
        credited_at__isnull=True,
        referred__phone_verified_at__isnull=False,
        referrer__phone_verified_at__isnull=False,
    ).order_by("pk")
    if user is not None:
        waiting = waiting.filter(Q(referred=user) | Q(referrer=user))
    return sum(credit_referral(referral) for referral in waiting)


def mark_notifications_read(user, notification_ids):
    """The member has seen these notifications (only their own are touched)."""
    return Notification.objects.filter(user=user, pk__in=notification_ids, read_at__isnull=True).update(
        read_at=timezone.now()
    )


# --- phone verification (OTP) ----------------------------------------------------------------------------


class OTPRefused(Exception):
    """A code cannot be sent or checked now; the message says why and `retry_at` when, if known."""

    def __init__(self, message, retry_at=None):
        self.retry_at = retry_at
        super().__init__(message)


def _wait_text(until, now=None):
    """How long until `until`, as a member reads it: "42 s", "3 min"."""
    seconds = max(1, math.ceil((until - (now or timezone.now())).total_seconds()))
    return f"{seconds} s" if seconds < 120 else f"{math.ceil(seconds / 60)} min"


def _otp_device(user, lock=False):
    devices = PhoneDevice.objects.filter(user=user)
    if lock:
        devices = devices.select_for_update()
    device = devices.first()
    if device is None:
        device = PhoneDevice.objects.create(user=user, name="phone", phone=user.phone, confirmed=False)
        if lock:
            device = PhoneDevice.objects.select_for_update().get(pk=device.pk)
    return device


def send_verification_code(user):
    """Text a fresh 6-digit code to the user's phone; returns its Delivery. Rate-limited: a pause between sends,
    a cap per hour."""
    if user.phone_verified:
        raise OTPRefused("Your phone number is already verified.")
    if not user.phone:
        raise OTPRefused("Add a phone number first.")
    interval = timedelta(seconds=_setting("OTP_RESEND_INTERVAL_SECONDS", 60))
    max_per_hour = _setting("OTP_MAX_SENDS_PER_HOUR", 5)
    now = timezone.now()
    with transaction.atomic():
        get_user_model().objects.select_for_update().filter(pk=user.pk).get()
        device = _otp_device(user, lock=True)
        if device.last_sent_at and now < device.last_sent_at + interval:
            retry_at = device.last_sent_at + interval
            raise OTPRefused(f"Please wait {_wait_text(retry_at, now)} before asking for another code.", retry_at)
        if device.send_window_started_at is None or now >= device.send_window_started_at + timedelta(hours=1):
            device.send_window_started_at, device.sends_in_window = now, 0
        if device.sends_in_window >= max_per_hour:
            retry_at = device.send_window_started_at + timedelta(hours=1)
            raise OTPRefused(f"Too many codes requested. Try again in {_wait_text(retry_at, now)}.", retry_at)
        device.phone = user.phone
        device.sends_in_window += 1
        device.last_sent_at = now
        device.failed_attempts = 0
        device.generate_token(valid_secs=_setting("OTP_VALID_SECONDS", 300), commit=False)
        device.save()
        token = device.token
    # Queued (a Delivery): a slow or failing SMS provider never fails the request; the delivery says how it went.
    return queue_sms(user.phone, f"Your Rewards verification code is {token}. It expires in 5 minutes.")


def verify_phone(user, code):
    """Check `code`; on success mark the phone verified and credit referrals. Raises OTPRefused otherwise.

    Wrong codes back off exponentially, and after OTP_MAX_ATTEMPTS the code is burned: brute force gets nowhere.
    """
    max_attempts = _setting("OTP_MAX_ATTEMPTS", 5)
    code = (code or "").strip()
    refusal = None
    with transaction.atomic():
        get_user_model().objects.select_for_update().filter(pk=user.pk).get()
        device = PhoneDevice.objects.select_for_update().filter(user=user).first()
        if user.phone_verified:
            raise OTPRefused("Your phone number is already verified.")
        if device is None or device.token is None:
            raise OTPRefused("Ask for a code first.")
        allowed, info = device.verify_is_allowed()
        if not allowed:
            # Inside the back-off after a wrong code: a pause, not a lock-out (that is OTP_MAX_ATTEMPTS, below).
            retry_at = info.get("locked_until") or timezone.now()
            raise OTPRefused(f"Please wait {_wait_text(retry_at)} before trying another code.", retry_at)
        if device.phone != user.phone:
            raise OTPRefused("Your phone number changed; ask for a new code.")
        if device.verify_token(code):
            device.failed_attempts = 0
            device.confirmed = True
            device.throttle_reset(commit=False)
            device.save()
            now = timezone.now()
            get_user_model().objects.filter(pk=user.pk).update(phone_verified_at=now)
            user.phone_verified_at = now
        else:
            # The failed attempt must be saved, so the refusal is raised after this block commits.
            device.failed_attempts += 1
            device.throttle_increment(commit=False)
            refusal = (
                "This code has expired. Ask for a new one." if device.valid_until <= timezone.now() else "Wrong code."
            )
            if device.failed_attempts >= max_attempts:
                device.token, device.valid_until = None, timezone.now()
                refusal = "Too many wrong codes. Ask for a new code."
            device.save()
    if refusal:
        raise OTPRefused(refusal)
    try:
        credit_waiting_referrals(user)
    except Exception:
        # The phone is verified whatever happens here; the scheduled catch-up pays the credit later.
        logger.exception("Crediting referrals after user %s verified the phone failed; the catch-up retries", user.pk)
    return True
