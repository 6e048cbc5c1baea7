import re
from datetime import timedelta

import pytest
from django.utils import timezone

from backoffice.tests.factories import UserFactory
from growth import otp, referrals, registration
from growth.errors import OTPRefused, ReferralRefused, SignupRefused
from growth.models import PhoneDevice, Referral
from growth.sms import ConsoleSMSBackend
from moderation.models import RewardEntry

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-unusual-passphrase-42"


def last_code():
    return re.search(r"\b(\d{6})\b", ConsoleSMSBackend.outbox[-1]["body"]).group(1)


def sign_up(email="new@example.test", phone="+15550000001", code=""):
    return registration.sign_up_member(email=email, password=PASSWORD, phone=phone, referral_code=code)


def verify(user):
    otp.send_verification_code(user=user)
    otp.verify_phone(user=user, code=last_code())


def test_sign_up_with_a_referral_code_links_the_referrer():
    referrer = UserFactory(verified=True)
    user = sign_up(code=referrer.referral_code)
    assert Referral.objects.get(referred=user).referrer == referrer


def test_an_unknown_referral_code_is_refused_and_creates_no_user():
    with pytest.raises(ReferralRefused):
        sign_up(code="nope-nope")
    assert not Referral.objects.exists()


def test_self_referral_by_the_same_phone_is_refused():
    referrer = UserFactory(phone="+15550000001")
    with pytest.raises(SignupRefused):
        sign_up(code=referrer.referral_code)


def test_a_second_referral_of_the_same_user_is_refused():
    user = sign_up(code=UserFactory().referral_code)
    with pytest.raises(ReferralRefused):
        referrals.create_referral(referrer=UserFactory(), referred=user)
    assert Referral.objects.filter(referred=user).count() == 1


def test_a_referral_cycle_is_refused():
    a = UserFactory()
    b = sign_up(code=a.referral_code)
    with pytest.raises(ReferralRefused):
        referrals.create_referral(referrer=b, referred=a)


def test_self_referral_is_refused():
    user = UserFactory()
    with pytest.raises(ReferralRefused):
        referrals.create_referral(referrer=user, referred=user)


def test_a_weak_password_is_refused():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        registration.sign_up_member(email="x@example.test", password="12345678", phone="+15550000009")


def test_a_duplicate_email_is_refused_whatever_its_case():
    sign_up(email="dup@example.test")
    with pytest.raises(SignupRefused):
        sign_up(email="DUP@example.test", phone="+15550000002")


def test_the_right_code_verifies_the_phone():
    user = sign_up()
    verify(user)
    user.refresh_from_db()
    assert user.phone_verified


def test_the_referrer_is_credited_once_when_the_referred_user_verifies():
    referrer = UserFactory(verified=True)
    user = sign_up(code=referrer.referral_code)
    verify(user)
    referrals.credit_waiting_referrals(user=user)
    referrer.refresh_from_db()
    assert referrer.points_balance == 50
    assert RewardEntry.objects.filter(user=referrer, kind=RewardEntry.Kind.REFERRAL).count() == 1


def test_an_unverified_referrer_is_credited_only_after_verifying_too():
    referrer = UserFactory()
    verify(sign_up(code=referrer.referral_code))
    referrer.refresh_from_db()
    assert referrer.points_balance == 0
    verify(referrer)
    referrer.refresh_from_db()
    assert referrer.points_balance == 50


def test_a_wrong_code_is_refused():
    user = sign_up()
    otp.send_verification_code(user=user)
    with pytest.raises(OTPRefused):
        otp.verify_phone(user=user, code="000000" if last_code() != "000000" else "111111")
    user.refresh_from_db()
    assert not user.phone_verified


def test_an_expired_code_is_refused():
    user = sign_up()
    otp.send_verification_code(user=user)
    PhoneDevice.objects.filter(user=user).update(valid_until=timezone.now() - timedelta(seconds=1))
    with pytest.raises(OTPRefused, match="expired"):
        otp.verify_phone(user=user, code=last_code())


def test_brute_force_is_locked_out_even_for_the_right_code(settings):
    settings.OTP_PHONE_THROTTLE_FACTOR = 0  # isolate the attempt cap from the back-off
    user = sign_up()
    otp.send_verification_code(user=user)
    code = last_code()
    wrong = [f"{n:06d}" for n in range(20) if f"{n:06d}" != code][:5]
    for guess in wrong:
        with pytest.raises(OTPRefused):
            otp.verify_phone(user=user, code=guess)
    with pytest.raises(OTPRefused):
        otp.verify_phone(user=user, code=code)
    user.refresh_from_db()
    assert not user.phone_verified


def after_one_wrong_code():
    """A new member sent a code who then typed a wrong one; returns the member and the right code."""
    user = sign_up()
    otp.send_verification_code(user=user)
    code = last_code()
    with pytest.raises(OTPRefused, match="Wrong code"):
        otp.verify_phone(user=user, code="x")
    return user, code


def test_wrong_codes_back_off_exponentially():
    user, code = after_one_wrong_code()
    with pytest.raises(OTPRefused, match="Please wait 1 s before trying another code"):
        otp.verify_phone(user=user, code=code)


def test_the_right_code_within_the_back_off_is_asked_to_wait_not_called_too_many():
    """One typo then the right code a moment later: the member is told how long to wait, and it then works."""
    user, code = after_one_wrong_code()
    with pytest.raises(OTPRefused) as refused:
        otp.verify_phone(user=user, code=code)
    assert "Too many" not in str(refused.value)
    assert refused.value.retry_at is not None
    PhoneDevice.objects.filter(user=user).update(throttling_failure_timestamp=timezone.now() - timedelta(seconds=2))
    assert otp.verify_phone(user=user, code=code)
    user.refresh_from_db()
    assert user.phone_verified


def test_resending_immediately_is_rate_limited():
    user = sign_up()
    otp.send_verification_code(user=user)
    with pytest.raises(OTPRefused, match=r"Please wait (59|60) s before asking for another code"):
        otp.send_verification_code(user=user)
    assert len(ConsoleSMSBackend.outbox) == 1


def test_sends_are_capped_per_hour(settings):
    settings.OTP_RESEND_INTERVAL_SECONDS = 0
    settings.OTP_MAX_SENDS_PER_HOUR = 3
    user = sign_up()
    for _ in range(3):
        otp.send_verification_code(user=user)
    with pytest.raises(OTPRefused, match=r"Too many codes requested. Try again in (59|60) min"):
        otp.send_verification_code(user=user)
    assert len(ConsoleSMSBackend.outbox) == 3


def test_a_verified_phone_gets_no_more_codes():
    user = sign_up()
    verify(user)
    with pytest.raises(OTPRefused):
        otp.send_verification_code(user=user)


@pytest.mark.parametrize(("seconds", "said"), [(300, "5 minutes"), (60, "1 minute"), (90, "90 seconds")])
def test_the_sms_says_how_long_the_code_lives_from_the_setting(settings, seconds, said):
    settings.OTP_VALID_SECONDS = seconds
    otp.send_verification_code(user=sign_up())
    assert ConsoleSMSBackend.outbox[-1]["body"].endswith(f"It expires in {said}.")
    device = PhoneDevice.objects.get()
    assert abs((device.valid_until - timezone.now()).total_seconds() - seconds) < 5
