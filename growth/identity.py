"""How the public site recognises one person behind different spellings of an email or a phone number.

- Phone numbers are stored in ASCII E.164 (`+15551234567`), parsed by `phonenumbers` (which also reads
  fullwidth and other Unicode digits) with `PHONE_DEFAULT_REGION` for numbers written without a country
  code, BEFORE the uniqueness check: one number is one account, however it was typed.
- `canonical_email` is the mailbox an address delivers to, for self-referral checks and per-email limits
  (never stored, never used to send): NFKC + casefold; the `+tag` suffix is dropped for every domain
  (plus-addressing is near-universal, and a false match only refuses a self-referral bonus); dots in the
  local part are dropped only for Gmail (gmail.com, googlemail.com), where they are known to be ignored.
"""

import unicodedata

import phonenumbers
from django.conf import settings

DOTLESS_DOMAINS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


class InvalidPhone(ValueError):
    pass


def normalise_phone(value):
    """The number in ASCII E.164; InvalidPhone when it cannot be a phone number."""
    text = unicodedata.normalize("NFKC", str(value or "")).strip()
    if not text:
        raise InvalidPhone("Enter a phone number.")
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, settings.PHONE_DEFAULT_REGION or None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone("Enter the number in international format, e.g. +15551234567.") from exc
    if not phonenumbers.is_possible_number(number):
        raise InvalidPhone("Enter the number in international format, e.g. +15551234567.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def canonical_email(value):
    text = unicodedata.normalize("NFKC", str(value or "")).strip().casefold()
    local, at, domain = text.rpartition("@")
    if not at:
        return text
    local = local.split("+", 1)[0]
    domain = DOTLESS_DOMAINS.get(domain, domain)
    if domain == "gmail.com":
        local = local.replace(".", "")
    return f"{local}@{domain}"
