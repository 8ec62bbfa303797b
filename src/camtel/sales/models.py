"""Tables of the sales side: saved quotes (leads) and demo bookings; both personal data
(camtel.privacy.registry), kept 12 months, linked to an account when the address has one."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from camtel.db.base import Base, CreatedMixin, IdMixin


class Lead(IdMixin, CreatedMixin, Base):
    """A visitor who saved a quote and asked to be contacted about it."""

    __tablename__ = "leads"

    #: The account with this address (or the signed-in person who saved it), so that the
    #: person's export and erasure include it.
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254), index=True)
    company: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    #: The quote as answered (`Quote.as_json()`), with the price table version it was made with.
    quote: Mapped[dict[str, Any]]
    #: What the person agreed to, word for word, and which version of that text it was.
    consent_text: Mapped[str] = mapped_column(String(500))
    consent_version: Mapped[str] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(8), default="en")
    #: SHA-256 of the link in the mail that deletes this lead (no account needed).
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class DemoBooking(IdMixin, CreatedMixin, Base):
    """A demo booked in one slot; the unique start refuses a second booking of it."""

    __tablename__ = "demo_bookings"

    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    starts_at: Mapped[datetime] = mapped_column(unique=True)
    ends_at: Mapped[datetime]
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254), index=True)
    company: Mapped[str] = mapped_column(String(200), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    #: The visitor's IANA time zone, so that their mail names the time as they saw it.
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    language: Mapped[str] = mapped_column(String(8), default="en")
    #: SHA-256 of the link in the mail that cancels this booking (and frees its slot).
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)
