"""Twilio answering 5xx or hanging never shows a member a 500: the account exists, the SMS is retried."""

import time

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from backoffice import tasks
from backoffice.models import Delivery
from backoffice.testing.servers import http_server, silent_server
from backoffice.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ACCOUNT_SID = "AC" + "0" * 32
STRONG = "a-long-unusual-passphrase-42"
TWILIO_DOWN = b'{"code": 20500, "message": "Internal Server Error", "status": 503}'


@pytest.fixture
def twilio(settings):
    settings.SMS_BACKEND = "growth.sms.TwilioSMSBackend"
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_FROM = ACCOUNT_SID, "token", "+15005550006"
    settings.SMS_TIMEOUT_SECONDS = 1

    def point_at(base_url):
        settings.TWILIO_API_BASE_URL = base_url

    return point_at


def sign_up(client):
    data = {
        "display_name": "Nova",
        "email": "new@example.test",
        "phone": "+1 555 000 0001",
        "password1": STRONG,
        "password2": STRONG,
    }
    return client.post(reverse("signup"), data, follow=True)


def test_signing_up_while_twilio_answers_503_creates_the_account_and_says_the_sms_will_be_retried(client, twilio):
    with http_server(status=503, body=TWILIO_DOWN) as (url, requests):
        twilio(url)
        response = sign_up(client)
    assert response.status_code == 200
    assert get_user_model().objects.filter(email="new@example.test").exists()
    assert "could not send the SMS" in response.content.decode()
    sms = Delivery.objects.get(channel="sms")
    assert (sms.to, sms.status, sms.attempts) == ("+15550000001", Delivery.Status.RETRYING, 1)
    assert "503" in sms.last_error or "Internal Server Error" in sms.last_error
    assert len(requests) == 1


@pytest.mark.slow  # waits out a timeout
def test_asking_for_a_code_while_twilio_hangs_answers_within_the_timeout(client, twilio):
    client.force_login(UserFactory())
    with silent_server() as port:
        twilio(f"http://127.0.0.1:{port}")
        started = time.monotonic()
        response = client.post(reverse("verify-phone"), {"action": "send"}, follow=True)
        elapsed = time.monotonic() - started
    assert response.status_code == 200 and elapsed < 5
    assert "could not send the SMS" in response.content.decode()
    sms = Delivery.objects.get(channel="sms")
    assert sms.status == Delivery.Status.RETRYING and "could not be reached" in sms.last_error


def test_the_code_goes_out_on_the_retry_once_twilio_answers(client, twilio):
    with http_server(status=503, body=TWILIO_DOWN) as (url, _):
        twilio(url)
        sign_up(client)
    Delivery.objects.update(next_attempt_at=Delivery.objects.get().last_attempt_at)
    ok = b'{"sid": "SM' + b"1" * 32 + b'", "status": "queued"}'
    with http_server(status=201, body=ok) as (url, requests):
        twilio(url)
        tasks.retry_deliveries.delay()
    sms = Delivery.objects.get()
    assert (sms.status, sms.attempts, sms.provider_id) == (Delivery.Status.SENT, 2, "SM" + "1" * 32)
    assert "verification code is" in requests[0]["body"].decode().replace("+", " ")


def test_a_code_sent_at_once_says_so(client):
    client.force_login(UserFactory())
    response = client.post(reverse("verify-phone"), {"action": "send"}, follow=True)
    assert "We sent a code to" in response.content.decode()
