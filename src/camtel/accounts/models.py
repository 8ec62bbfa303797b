"""Tables of people, organisations, memberships, login sessions and emailed tokens."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from camtel.db.base import Base, CreatedMixin, IdMixin


class User(IdMixin, CreatedMixin, Base):
    """A person with a login."""

    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(254), unique=True)
    phone: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(120), default="")
    email_verified_at: Mapped[datetime | None]
    date_of_birth: Mapped[date | None]
    #: What the age rests on (P20): birth_date, confirmed_adult, or unstated (an API
    #: registration without it; treated as an adult's), `accounts.age.AgeBasis`.
    age_basis: Mapped[str] = mapped_column(
        String(16), default="unstated", server_default="unstated"
    )
    #: When the person stated it (their registration, or later in the privacy centre).
    age_stated_at: Mapped[datetime | None]
    guardian_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    is_admin: Mapped[bool] = mapped_column(default=False)
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled: Mapped[bool] = mapped_column(default=False)
    password_changed_at: Mapped[datetime | None]


class Organization(IdMixin, CreatedMixin, Base):
    """A tenant: the devices, people and data of one fleet or household."""

    __tablename__ = "organizations"

    name: Mapped[str] = mapped_column(String(120))


class Membership(CreatedMixin, Base):
    """A person's role in an organisation."""

    __tablename__ = "memberships"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(16))


class AuthSession(IdMixin, CreatedMixin, Base):
    """A signed-in session: an API bearer token or a web cookie, stored only as a hash."""

    __tablename__ = "auth_sessions"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(8))  # "api" | "web"
    csrf_token: Mapped[str | None] = mapped_column(String(64))
    expires_at: Mapped[datetime]
    last_seen_at: Mapped[datetime | None]


class EmailToken(IdMixin, CreatedMixin, Base):
    """A one-time link sent by email (verification, reset, email change), stored as a hash."""

    __tablename__ = "email_tokens"
    __table_args__ = (UniqueConstraint("token_hash"),)

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(16))  # "verify" | "reset" | "change"
    token_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    #: The address a "change" link confirms; the account keeps its old one until then.
    new_email: Mapped[str | None] = mapped_column(String(254))


class OrganizationInvitation(IdMixin, CreatedMixin, Base):
    """An invitation to join an organisation with a role: a membership only once the invited
    person, signed in with the invited address, accepts it."""

    __tablename__ = "organization_invitations"

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    #: The invited address, normalised: the account that accepts must have it.
    email: Mapped[str] = mapped_column(String(254), index=True)
    role: Mapped[str] = mapped_column(String(16))
    invited_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    #: The invited person's account once camtel knows it (at once for an address with an
    #: account, else when they first look at their invitations); export and erasure follow it.
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="pending")  # see invitations.Status
    expires_at: Mapped[datetime] = mapped_column(index=True)
    decided_at: Mapped[datetime | None]
