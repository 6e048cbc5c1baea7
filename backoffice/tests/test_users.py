import pytest
from django.contrib.auth import authenticate, get_user_model
from django.db import IntegrityError, transaction

from backoffice.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_users_log_in_with_their_email_in_any_case():
    user = UserFactory(email="Ada@Example.test")
    assert user.email == "Ada@Example.test"
    assert authenticate(username="ada@example.test", password=PASSWORD) == user


def test_create_user_normalizes_the_email_to_lower_case():
    user = get_user_model().objects.create_user("Grace@Example.TEST", "pw")
    assert user.email == "grace@example.test"


def test_emails_are_unique_regardless_of_case():
    UserFactory(email="dup@example.test")
    with pytest.raises(IntegrityError), transaction.atomic():
        UserFactory(email="DUP@example.test")


def test_each_user_gets_a_distinct_unguessable_referral_code():
    codes = {UserFactory().referral_code for _ in range(50)}
    assert len(codes) == 50
    assert all(len(code) >= 8 for code in codes)


def test_new_users_start_with_zero_points():
    assert UserFactory().points_balance == 0


def test_two_users_cannot_share_a_phone_number():
    UserFactory(phone="+15550000001")
    with pytest.raises(IntegrityError), transaction.atomic():
        UserFactory(phone="+15550000001")


def test_many_users_may_have_no_phone():
    UserFactory(phone="")
    UserFactory(phone="")
