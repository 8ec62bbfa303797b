"""What visitors send when they save a quote or book a demo, checked the same way for the API
and for the pages' plain form posts (each refusal names its field)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from camtel.accounts.contact import ContactError, normalise_email
from camtel.sales.availability import zone
from camtel.sales.pricing import QuoteRequest

MAX_MESSAGE = 2000
Language = Literal["en", "de"]
_PHONE = re.compile(r"^[0-9+()./ -]*$")


def _bounded(value: Any, *, field: str, most: int, needed: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise PydanticCustomError(f"{field}_invalid", f"{field} must be text")
    value = value.strip()
    if "\x00" in value:
        raise PydanticCustomError(f"{field}_invalid", f"{field} may not contain NUL characters")
    if needed and not value:
        raise PydanticCustomError(f"{field}_missing", f"{field} is needed")
    if len(value) > most:
        raise PydanticCustomError(f"{field}_too_long", f"{field} is at most {most} characters")
    return value


class ContactDetails(BaseModel):
    """Who to answer: a name and an address are needed, the rest is optional."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=120, description="Your name.")
    email: str = Field(max_length=254, description="Where the answer goes.")
    company: str = Field("", max_length=200)
    message: str = Field("", max_length=MAX_MESSAGE, description="Anything we should know.")
    language: Language = Field("en", description="Language of the pages the visitor used.")

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> str:
        return _bounded(value, field="name", most=120, needed=True)

    @field_validator("email", mode="before")
    @classmethod
    def _email(cls, value: Any) -> str:
        text = _bounded(value, field="email", most=254, needed=True)
        try:
            return normalise_email(text)
        except ContactError as exc:
            raise PydanticCustomError(
                "email_invalid", "email is not a valid address: {why}", {"why": str(exc)}
            ) from None

    @field_validator("company", mode="before")
    @classmethod
    def _company(cls, value: Any) -> str:
        return _bounded(value, field="company", most=200)

    @field_validator("message", mode="before")
    @classmethod
    def _message(cls, value: Any) -> str:
        return _bounded(value, field="message", most=MAX_MESSAGE)

    @field_validator("language", mode="before")
    @classmethod
    def _language(cls, value: Any) -> Any:
        return value if value in ("en", "de") else "en"


class LeadIn(ContactDetails):
    """Save a quote: the quote asked for, who to contact, and their consent."""

    quote: QuoteRequest
    phone: str = Field("", max_length=40, description="Optional, as the person writes it.")
    consent: bool = Field(
        False,
        validate_default=True,
        description="Must be true: contact me about this quote (the text is stored).",
    )
    marketing: bool = Field(
        False,
        description="Signed-in people only: also send product news (recorded in the consent "
        "ledger as `marketing_email`).",
    )

    @field_validator("consent")
    @classmethod
    def _consented(cls, value: bool) -> bool:
        if not value:
            raise PydanticCustomError(
                "consent_missing",
                "consent is needed: we keep your details only to contact you about this quote",
            )
        return value

    @field_validator("phone", mode="before")
    @classmethod
    def _phone(cls, value: Any) -> str:
        text = _bounded(value, field="phone", most=40)
        if not _PHONE.match(text):
            raise PydanticCustomError(
                "phone_invalid", "phone may hold only digits, spaces and + ( ) - / ."
            )
        return text


class BookingIn(ContactDetails):
    """Book a demo: the slot's start (one of GET /demo-slots), and who is coming."""

    start: datetime = Field(description="Start of a free slot, ISO 8601 with its offset.")
    time_zone: str = Field(
        "UTC", max_length=64, description="The visitor's IANA time zone, for their mail."
    )

    @field_validator("start", mode="before")
    @classmethod
    def _start(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            except ValueError:
                raise PydanticCustomError(
                    "start_invalid", "start must be a time like 2026-12-14T09:00:00+00:00"
                ) from None
        if not isinstance(value, datetime):
            raise PydanticCustomError("start_invalid", "start must be a time")
        if value.utcoffset() is None:
            raise PydanticCustomError("start_invalid", "start must carry its time zone offset")
        return value

    @field_validator("time_zone", mode="before")
    @classmethod
    def _zone(cls, value: Any) -> str:
        """An unknown zone is not the visitor's fault: their mail names UTC then."""
        if not isinstance(value, str):
            return "UTC"
        try:
            zone(value.strip())
        except ValueError:
            return "UTC"
        return value.strip()
