"""Referrers hear about their referrals; other members see display names, never an email."""

import pytest
from django.core import mail
from django.test import TestCase
from django.urls import reverse

from backoffice.models import Notification
from backoffice.tests.factories import UserFactory
from growth import referrals
from growth.models import Referral
from growth.tests.test_site import signup_data

pytestmark = pytest.mark.django_db


def test_a_sign_up_through_the_link_tells_the_referrer_in_app_and_by_email(client):
    referrer = UserFactory(verified=True, email="alice.private@example.test")
    with TestCase.captureOnCommitCallbacks(execute=True):
        client.post(reverse("signup"), signup_data(display_name="Nova", referral_code=referrer.referral_code))
    notice = Notification.objects.get(user=referrer)
    assert notice.subject == "Nova signed up with your link"
    assert [m.to for m in mail.outbox] == [[referrer.email]] and "Nova" in mail.outbox[0].subject


def test_the_paid_credit_tells_the_referrer():
    referrer = UserFactory(verified=True)
    referral = Referral.objects.create(referrer=referrer, referred=UserFactory(verified=True, display_name="Kim"))
    with TestCase.captureOnCommitCallbacks(execute=True):
        referrals.credit_referral(referral=referral)
    notice = Notification.objects.get(user=referrer)
    assert notice.subject == "You earned 50 points" and "Kim" in notice.body
    assert len(mail.outbox) == 1


def test_the_public_leaderboard_shows_display_names_and_no_part_of_an_email(client):
    referrer = UserFactory(verified=True, email="secret.handle@example.test", first_name="", display_name="Ace")
    anonymous = UserFactory(verified=True, email="other.handle@example.test", first_name="", display_name="")
    for member in (referrer, anonymous):
        with TestCase.captureOnCommitCallbacks(execute=True):
            referrals.credit_referral(
                referral=Referral.objects.create(referrer=member, referred=UserFactory(verified=True))
            )
    body = client.get(reverse("leaderboard")).content.decode()
    assert "Ace" in body and f"Member {anonymous.pk}" in body
    assert "secret.handle" not in body and "other.handle" not in body and "@" not in body.split("<main")[-1]


def test_a_display_name_is_asked_at_sign_up_and_cannot_be_an_email(client):
    response = client.post(reverse("signup"), signup_data(display_name="me@example.test"))
    assert "display_name" in response.context["form"].errors
