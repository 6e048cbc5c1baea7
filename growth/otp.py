"""Write paths of phone verification: text a one-time code, check it (then pay the referral credit it unlocks).

Tunables (settings/base.py): OTP_VALID_SECONDS, OTP_MAX_ATTEMPTS, OTP_RESEND_INTERVAL_SECONDS,
OTP_MAX_SENDS_PER_HOUR; the back-off between wrong codes is PhoneDevice's (OTP_PHONE_THROTTLE_FACTOR).
"""

import logging
import math
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from backoffice.delivery import queue_sms

from .errors import OTPRefused
from .models import PhoneDevice
from .referrals import credit_waiting_referrals

logger = logging.getLogger(__name__)


def _wait_text(until, now=None):
    """How long until `until`, as a member reads it: "42 s", "3 min"."""
    seconds = max(1, math.ceil((until - (now or timezone.now())).total_seconds()))
    return f"{seconds} s" if seconds < 120 else f"{math.ceil(seconds / 60)} min"


def code_life_text(seconds=None):
    """A code's life (OTP_VALID_SECONDS) as the SMS and the page say it: "5 minutes", "1 minute", "90 seconds"."""
    seconds = settings.OTP_VALID_SECONDS if seconds is None else seconds
    if seconds >= 60 and seconds % 60 == 0:
        minutes = seconds // 60
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


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


def send_verification_code(*, user):
    """Text a fresh 6-digit code to the user's phone; returns its Delivery. Rate-limited: a pause between sends,
    a cap per hour."""
    if user.phone_verified:
        raise OTPRefused("Your phone number is already verified.")
    if not user.phone:
        raise OTPRefused("Add a phone number first.")
    interval = timedelta(seconds=settings.OTP_RESEND_INTERVAL_SECONDS)
    valid_seconds = settings.OTP_VALID_SECONDS
    now = timezone.now()
    with transaction.atomic():
        get_user_model().objects.select_for_update().filter(pk=user.pk).get()
        device = _otp_device(user, lock=True)
        if device.last_sent_at and now < device.last_sent_at + interval:
            retry_at = device.last_sent_at + interval
            raise OTPRefused(f"Please wait {_wait_text(retry_at, now)} before asking for another code.", retry_at)
        if device.send_window_started_at is None or now >= device.send_window_started_at + timedelta(hours=1):
            device.send_window_started_at, device.sends_in_window = now, 0
        if device.sends_in_window >= settings.OTP_MAX_SENDS_PER_HOUR:
            retry_at = device.send_window_started_at + timedelta(hours=1)
            raise OTPRefused(f"Too many codes requested. Try again in {_wait_text(retry_at, now)}.", retry_at)
        device.phone = user.phone
        device.sends_in_window += 1
        device.last_sent_at = now
        device.failed_attempts = 0
        device.generate_token(valid_secs=valid_seconds, commit=False)
        device.save()
        token = device.token
    # Queued (a Delivery): a slow or failing SMS provider never fails the request; the delivery says how it went.
    return queue_sms(
        user.phone, f"Your Rewards verification code is {token}. It expires in {code_life_text(valid_seconds)}."
    )


def verify_phone(*, user, code):
    """Check `code`; on success mark the phone verified and credit referrals. Raises OTPRefused otherwise.

    Wrong codes back off exponentially, and after OTP_MAX_ATTEMPTS the code is burned: brute force gets nowhere.
    """
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
            if device.failed_attempts >= settings.OTP_MAX_ATTEMPTS:
                device.token, device.valid_until = None, timezone.now()
                refusal = "Too many wrong codes. Ask for a new code."
            device.save()
    if refusal:
        raise OTPRefused(refusal)
    try:
        credit_waiting_referrals(user=user)
    except Exception:
        # The phone is verified whatever happens here; the scheduled catch-up pays the credit later.
        logger.exception("Crediting referrals after user %s verified the phone failed; the catch-up retries", user.pk)
    return True
