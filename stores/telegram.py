"""Sending Telegram messages through one interface: `send_message(chat_id, text)`; the sender is chosen by
settings.TELEGRAM_SENDER, like growth.sms. Called only from the Celery task that delivers alerts, never
from a request, so a slow or failing Bot API delays nobody."""

import json
import logging

from django.conf import settings

from backoffice import outbound

logger = logging.getLogger(__name__)
MAX_TEXT = 4096  # the Bot API's limit


class TelegramUnavailable(Exception):
    """Network error, timeout, 5xx or 429: worth retrying later."""


class TelegramRefused(Exception):
    """The Bot API refused the message (bad chat id, bot blocked): retrying will not help."""


class ConsoleTelegramSender(outbound.ConsoleSender):
    """Writes messages to the log and keeps the last ones in `outbox` (local demo, tests)."""

    label = "Telegram"

    def send(self, chat_id, text):
        self.keep(chat_id, text, {"chat_id": chat_id, "text": text})


class BotApiTelegramSender:
    """POST {TELEGRAM_API_BASE_URL}/bot<token>/sendMessage through the one outbound helper, with a short timeout."""

    def send(self, chat_id, text):
        url = f"{settings.TELEGRAM_API_BASE_URL.rstrip('/')}/bot{settings.TELEGRAM_BOT_TOKEN}/sendMessage"
        payload = json.dumps({"chat_id": chat_id, "text": text[:MAX_TEXT], "disable_web_page_preview": True})
        try:
            response = outbound.request(
                url,
                method="POST",
                body=payload.encode(),
                headers={"Content-Type": "application/json"},
                timeout=settings.TELEGRAM_TIMEOUT_SECONDS,
                max_bytes=65536,
            )
        except outbound.OutboundRetryable as exc:
            raise TelegramUnavailable(f"Telegram could not be reached: {exc}") from None  # no token in tracebacks
        except outbound.OutboundRefused as exc:
            raise TelegramRefused(f"Telegram refused the message: {exc}") from None
        try:
            answer = json.loads(response.body or b"{}")
        except json.JSONDecodeError:
            raise TelegramUnavailable("Telegram answered something that is not JSON") from None
        if not answer.get("ok"):
            raise TelegramRefused("Telegram refused the message")


def get_sender():
    return outbound.configured_sender(settings.TELEGRAM_SENDER)


def send_message(chat_id, text):
    get_sender().send(chat_id, text)
