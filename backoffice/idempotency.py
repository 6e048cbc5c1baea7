"""The one rule for an Idempotency-Key: what a client sends so a retried request does its work once.

A key is 1 to IDEMPOTENCY_KEY_MAX_LENGTH printable ASCII characters (a UUID fits), surrounding spaces ignored.
Missing or blank: `idempotency_key_required`; too long or with other characters: `idempotency_key_invalid`
(both 400 in backoffice.api.ERROR_STATUS). Services that take a key call `clean_idempotency_key` with their own
refusal class (so their callers catch one exception type); the API reads the header through
`backoffice.api_input.idempotency_key`, which applies the same rule before any work.
"""

import re

from .errors import DomainError

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_MAX_LENGTH = 64  # the key columns are CharField(max_length=64)
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]+")


class IdempotencyKeyRefused(DomainError):
    """The Idempotency-Key is missing or malformed."""


def clean_idempotency_key(value, *, refusal=IdempotencyKeyRefused):
    """The key, stripped; raises `refusal` (a DomainError class) with a stable code when it is not usable."""
    key = value.strip() if isinstance(value, str) else ""
    if not key:
        raise refusal(
            "idempotency_key_required",
            f"Send an {IDEMPOTENCY_HEADER} header of 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} characters.",
        )
    if len(key) > IDEMPOTENCY_KEY_MAX_LENGTH or not _PRINTABLE_ASCII.fullmatch(key):
        raise refusal(
            "idempotency_key_invalid",
            f"An {IDEMPOTENCY_HEADER} has 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} printable ASCII characters (a UUID fits).",
            {"max_length": IDEMPOTENCY_KEY_MAX_LENGTH},
        )
    return key
