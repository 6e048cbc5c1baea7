"""The SMS providers behind one interface: `send_sms(to, body)`; the backend is chosen by settings.SMS_BACKEND.

Requests never call this directly: they queue the message with `backoffice.delivery.queue_sms`, whose task calls
the backend (with retries and a Delivery record), so a slow or failing provider never fails a member's request.
"""

import logging

from django.conf import settings

from backoffice import outbound

logger = logging.getLogger(__name__)


class SMSError(Exception):
    """The message could not be handed to the provider."""


class ConsoleSMSBackend(outbound.ConsoleSender):
    """Writes messages to the log and keeps the last ones in `outbox` (tests and the local demo read codes there)."""

    label = "SMS"

    def send(self, to, body):
        return self.keep(to, body, {"to": to, "body": body})


class TwilioSMSBackend:
    """Sends through Twilio's REST client. `TWILIO_API_BASE_URL` points the client at another host (tests)."""

    def __init__(self, client=None):
        if client is None:
            from twilio.http.http_client import TwilioHttpClient
            from twilio.rest import Client

            client = Client(
                settings.TWILIO_ACCOUNT_SID,
                settings.TWILIO_AUTH_TOKEN,
                http_client=TwilioHttpClient(timeout=settings.SMS_TIMEOUT_SECONDS),
            )
            base_url = settings.TWILIO_API_BASE_URL
            if base_url:
                client.api.base_url = base_url
        self.client = client

    def send(self, to, body):
        from requests import RequestException
        from twilio.base.exceptions import TwilioException

        try:
            message = self.client.messages.create(to=to, from_=settings.TWILIO_FROM, body=body)
        except TwilioException as exc:
            raise SMSError(str(exc)) from exc
        except RequestException as exc:  # unreachable, refused, timed out
            raise SMSError(f"Twilio could not be reached: {type(exc).__name__}") from exc
        return message.sid


def get_backend():
    return outbound.configured_sender(settings.SMS_BACKEND)


def send_sms(to, body):
    """Send `body` to the E.164 number `to`; returns the provider's message id."""
    return get_backend().send(to, body)
