"""Tables of the privacy layer: consent ledger, guardian invitations, policy versions,
disclosure and breach registers, diagnostics, cookie-less usage statistics, DPO contact,
the access log."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from camtel.db.base import Base, CreatedMixin, IdMixin, JSONType


class ConsentRecord(IdMixin, Base):
    """One decision about one purpose. Append-only: the current state is the latest record.

    The migrations add triggers that refuse UPDATE and DELETE unless the person is being
    erased, or an anonymous visitor's record has outlived its retention (see
    `camtel.privacy.consent`).
    """

    __tablename__ = "consent_records"
    __table_args__ = (
        Index("ix_consent_records_user_purpose_time", "user_id", "purpose", "time"),
        Index("ix_consent_records_visitor_purpose_time", "visitor_id", "purpose", "time"),
        # A decision is a person's or an anonymous visitor's, never both, never nobody's.
        CheckConstraint("(user_id IS NULL) <> (visitor_id IS NULL)", name="one_subject"),
    )

    #: The person deciding; None for an anonymous visitor's cookie choice.
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    #: A random opaque id kept only in the visitor's consent cookie (never derived from the
    #: address or the browser), for decisions made before signing in.
    visitor_id: Mapped[str | None] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(String(48))
    outcome: Mapped[str] = mapped_column(String(16))  # given | withdrawn | refused
    #: The privacy policy version in force when the decision was made (or the accepted one).
    policy_version: Mapped[int | None]
    time: Mapped[datetime]
    channel: Mapped[str] = mapped_column(String(16))  # api | web | cli | guardian
    #: Who made the decision when it was not the person (their guardian, an operator).
    actor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )


class GuardianInvitation(IdMixin, CreatedMixin, Base):
    """A minor's request that an adult become their guardian, confirmed by that adult."""

    __tablename__ = "guardian_invitations"

    minor_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    #: SHA-256 of the invited address: the confirming account must own it; no address is kept.
    email_hash: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    guardian_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )


class PolicyVersion(IdMixin, Base):
    """One published version of the privacy policy or the terms (Markdown)."""

    __tablename__ = "policy_versions"
    __table_args__ = (UniqueConstraint("kind", "version"),)

    kind: Mapped[str] = mapped_column(String(16))  # privacy | terms
    version: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime]


class Disclosure(IdMixin, CreatedMixin, Base):
    """Personal data given to someone outside camtel: who, what, why, on which legal basis."""

    __tablename__ = "disclosures"

    recipient: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(300))
    categories: Mapped[list[str]] = mapped_column(JSONType, default=list)
    legal_basis: Mapped[str] = mapped_column(String(200))
    disclosed_at: Mapped[datetime]
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )


class DisclosureSubject(IdMixin, Base):
    """A person whose data a disclosure carried, and when they were told (or why not)."""

    __tablename__ = "disclosure_subjects"
    __table_args__ = (UniqueConstraint("disclosure_id", "user_id"),)

    disclosure_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("disclosures.id", ondelete="CASCADE"), index=True
    )
    #: Cleared when the person is erased: the register keeps that a disclosure happened.
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    told_at: Mapped[datetime | None]
    not_told_reason: Mapped[str] = mapped_column(String(300), default="")


class Breach(IdMixin, CreatedMixin, Base):
    """A personal-data breach: what happened, which categories, and the 72-hour clock."""

    __tablename__ = "breaches"

    detected_at: Mapped[datetime]
    authority_deadline: Mapped[datetime]
    description: Mapped[str] = mapped_column(Text)
    categories: Mapped[list[str]] = mapped_column(JSONType, default=list)
    authority_notified_at: Mapped[datetime | None]
    people_notified_at: Mapped[datetime | None]
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )


class BreachNotification(IdMixin, Base):
    """That one person was told about one breach: makes notifying idempotent."""

    __tablename__ = "breach_notifications"
    __table_args__ = (UniqueConstraint("breach_id", "user_id"),)

    breach_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("breaches.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    notified_at: Mapped[datetime]


class DiagnosticsReport(IdMixin, CreatedMixin, Base):
    """An app or dash-cam problem log; phone ID and MAC only as keyed hashes."""

    __tablename__ = "diagnostics_reports"

    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[str] = mapped_column(String(16))  # app | dashcam
    phone_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    mac_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    app_version: Mapped[str] = mapped_column(String(32), default="")
    platform: Mapped[str] = mapped_column(String(32), default="")
    dashcam_model: Mapped[str] = mapped_column(String(64), default="")
    dashcam_firmware: Mapped[str] = mapped_column(String(64), default="")
    usage_seconds: Mapped[int | None]
    log: Mapped[str] = mapped_column(Text, default="")
    expires_at: Mapped[datetime] = mapped_column(index=True)


class AnalyticsSalt(Base):
    """Today's random salt for visitor hashes; deleted when the day is over."""

    __tablename__ = "analytics_salts"

    day: Mapped[date] = mapped_column(primary_key=True)
    salt: Mapped[str] = mapped_column(String(64))


class AnalyticsHit(IdMixin, Base):
    """One page view of the current day, with a salted visitor hash (no account, no cookie)."""

    __tablename__ = "analytics_hits"
    __table_args__ = (Index("ix_analytics_hits_day_page", "day", "page"),)

    day: Mapped[date]
    page: Mapped[str] = mapped_column(String(200))
    visitor: Mapped[str] = mapped_column(String(64))


class AnalyticsDaily(Base):
    """Counts of a finished day per page: what remains once the day's hashes are gone."""

    __tablename__ = "analytics_daily"

    day: Mapped[date] = mapped_column(primary_key=True)
    page: Mapped[str] = mapped_column(String(200), primary_key=True)
    visitors: Mapped[int]
    views: Mapped[int]


class ContactMessage(IdMixin, CreatedMixin, Base):
    """A message to the data-protection officer from the contact form."""

    __tablename__ = "contact_messages"

    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120), default="")
    email: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    forwarded: Mapped[bool] = mapped_column(default=False)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class AccessLogEntry(IdMixin, Base):
    """A person signing in, or failing to (P24): client address only as a keyed hash."""

    __tablename__ = "access_log"
    __table_args__ = (Index("ix_access_log_user_time", "user_id", "time"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    time: Mapped[datetime] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(16))  # sign_in | sign_in_failed
    channel: Mapped[str] = mapped_column(String(8))  # api | web
    #: Why a sign-in failed: password | otp_required | otp_invalid | email_unverified.
    reason: Mapped[str] = mapped_column(String(24), default="")
    #: HMAC-SHA256 of the client address with the data-dir key; never the address itself.
    address_hash: Mapped[str | None] = mapped_column(String(64))
    #: A short summary of the User-Agent ("Firefox on Android", "camtel-app 2.3"), never all of it.
    client: Mapped[str] = mapped_column(String(64), default="")


class DeviceAccessEntry(IdMixin, Base):
    """A device connecting to a gateway (P24): peer address only as a keyed hash."""

    __tablename__ = "device_access_log"
    __table_args__ = (Index("ix_device_access_log_device_time", "device_id", "time"),)

    device_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    time: Mapped[datetime] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(16))  # device_connect
    protocol: Mapped[str] = mapped_column(String(32))
    #: HMAC-SHA256 of the peer address; None when camtel cannot see it (MQTT: the broker's).
    address_hash: Mapped[str | None] = mapped_column(String(64))
    #: What the device says it is (JT/T 808 registration: manufacturer and model).
    model: Mapped[str] = mapped_column(String(64), default="")
