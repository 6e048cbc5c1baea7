"""Write path of sign-up (registration): a new member, with the referral their link carried."""

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.db import IntegrityError, transaction
from django.db.models import Q

from .errors import ReferralRefused, SignupRefused
from .identity import InvalidPhone, canonical_email, normalise_phone
from .referrals import create_referral, find_referrer

# One answer for a taken email and a taken phone, so sign-up does not tell which accounts exist.
SIGNUP_REFUSED_GENERIC = (
    "We could not create an account with these details. If you already have an account, log in or reset your password."
)


def sign_up_member(*, email, password, phone, referral_code="", display_name=""):
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
        referrer = find_referrer(code=referral_code)
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
