"""Contact details: email addresses and E.164 phone numbers, validated and normalised."""

from __future__ import annotations

import phonenumbers
from email_validator import EmailNotValidError, validate_email


class ContactError(ValueError):
    """An email address or phone number that cannot be used."""


def normalise_email(address: str) -> str:
    """The canonical form of an email address (domain lower-cased, IDNA) or ContactError."""
    try:
        result = validate_email(address.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ContactError(str(exc)) from None
    return result.normalized.lower()


def normalise_phone(number: str) -> str:
    """The E.164 form (+4915112345678) of an international phone number, or ContactError."""
    try:
        parsed = phonenumbers.parse(number.strip(), None)
    except phonenumbers.NumberParseException:
        raise ContactError("phone must be in international form, like +49 151 12345678") from None
    if not phonenumbers.is_valid_number(parsed):
        raise ContactError("phone is not a valid number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
