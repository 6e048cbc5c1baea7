"""A mail server that hangs or refuses never fails a moderator's decision: the email waits in Deliveries."""

import time

import pytest
from django.urls import reverse

from backoffice.models import Delivery
from backoffice.testing.servers import refused_port, silent_server
from backoffice.tests.factories import moderator
from moderation.models import ScreenshotProof
from moderation.tests.factories import ScreenshotProofFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def approve(client, django_capture_on_commit_callbacks):
    def approve(proof):
        """POST the approval; the commit's callbacks (the email send) run inside the timing, as in production."""
        client.force_login(moderator())
        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                reverse("moderation_approve", args=[proof.pk]), {"next": reverse("moderation_queue")}
            )
        return response, time.monotonic() - started

    return approve


@pytest.mark.slow  # waits out a timeout
def test_approval_answers_quickly_when_the_smtp_server_never_answers(approve, smtp):
    proof = ScreenshotProofFactory()
    with silent_server() as port:
        smtp(port)
        response, elapsed = approve(proof)
    assert response.status_code == 302
    assert elapsed < 5  # one EMAIL_TIMEOUT (1 s here), not Python's default of none
    proof.refresh_from_db()
    assert proof.status == ScreenshotProof.Status.APPROVED
    email = Delivery.objects.get(channel="email")
    assert (email.to, email.status) == (proof.download.user.email, Delivery.Status.RETRYING)
    assert "timed out" in email.last_error


def test_approval_succeeds_when_the_smtp_server_refuses_and_the_email_is_recorded(approve, smtp):
    proof = ScreenshotProofFactory()
    smtp(refused_port())
    response, _ = approve(proof)
    assert response.status_code == 302
    email = Delivery.objects.get(channel="email")
    assert email.status == Delivery.Status.RETRYING and "ConnectionRefusedError" in email.last_error
