"""The referral credit catch-up: a credit that failed at phone verification is paid later, once."""

import pytest
from django_celery_beat.models import PeriodicTask

from backoffice.tests.factories import UserFactory
from growth import referrals, tasks
from growth.tests.test_signup_and_otp import sign_up, verify
from moderation.models import RewardEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def referral_credit_fails_once(monkeypatch):
    post_entry = referrals.post_entry
    calls = []

    def fail_first_call(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            raise RuntimeError("ledger unavailable")
        return post_entry(**kwargs)

    monkeypatch.setattr(referrals, "post_entry", fail_first_call)


def referral_credits(user):
    return RewardEntry.objects.filter(user=user, kind=RewardEntry.Kind.REFERRAL).count()


def test_a_failed_referral_credit_does_not_undo_the_phone_verification(referral_credit_fails_once):
    referrer = UserFactory(verified=True)
    user = sign_up(phone="+15559990001", code=referrer.referral_code)

    verify(user)

    user.refresh_from_db()
    assert user.phone_verified
    assert referral_credits(referrer) == 0


def test_the_catch_up_pays_a_referral_credit_that_failed_at_verification(referral_credit_fails_once):
    referrer = UserFactory(verified=True)
    verify(sign_up(phone="+15559990001", code=referrer.referral_code))

    credited = tasks.credit_waiting_referrals.delay().get()

    referrer.refresh_from_db()
    assert credited == 1
    assert referrer.points_balance == 50
    assert referral_credits(referrer) == 1


def test_the_catch_up_credits_each_referral_once_however_often_it_runs(referral_credit_fails_once):
    referrer = UserFactory(verified=True)
    verify(sign_up(phone="+15559990001", code=referrer.referral_code))

    assert [referrals.credit_waiting_referrals() for _ in range(3)] == [1, 0, 0]
    assert referral_credits(referrer) == 1


def test_the_catch_up_leaves_referrals_with_an_unverified_phone_alone():
    referrer = UserFactory(verified=True)
    sign_up(phone="+15559990001", code=referrer.referral_code)

    assert referrals.credit_waiting_referrals() == 0
    assert referral_credits(referrer) == 0


def test_the_catch_up_is_scheduled_every_fifteen_minutes():
    task = PeriodicTask.objects.select_related("interval").get(task="growth.tasks.credit_waiting_referrals")
    assert task.enabled
    assert str(task.interval) == "every 15 minutes"
