"""Tables of the rights machinery: privacy requests, legal holds, retention overrides."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from camtel.db.base import Base, CreatedMixin, IdMixin


class PrivacyRequest(IdMixin, CreatedMixin, Base):
    """An export or erasure request, tracked to its one-month due date.

    After an erasure completes, `user_id` is cleared: the record that an erasure happened is
    kept (the law asks for it) without saying whose it was.
    """

    __tablename__ = "privacy_requests"

    kind: Mapped[str] = mapped_column(String(16))  # "export" | "erasure"
    user_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(16), default="self")  # self|guardian|operator
    status: Mapped[str] = mapped_column(String(16), default="received")
    due_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: Which process builds an export, and until when its lease holds (camtel.db.claims).
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claimed_until: Mapped[datetime | None]


class LegalHold(IdMixin, CreatedMixin, Base):
    """A pause on retention for a device or an account (an accident under investigation)."""

    __tablename__ = "legal_holds"

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    device_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    reason: Mapped[str] = mapped_column(String(300))
    released_at: Mapped[datetime | None]


class RetentionOverride(IdMixin, CreatedMixin, Base):
    """An organisation's own retention for one table (days), instead of camtel's default."""

    __tablename__ = "retention_overrides"

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    table_name: Mapped[str] = mapped_column(String(64))
    days: Mapped[int]
