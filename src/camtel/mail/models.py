"""The mail outbox: every mail camtel sends, kept until delivered (and its body then cleared)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from camtel.db.base import Base, CreatedMixin, IdMixin, JSONType


class OutboxMail(IdMixin, CreatedMixin, Base):
    """A mail camtel sends: kept here, delivered by SMTP if configured, shown by `camtel outbox`."""

    __tablename__ = "outbox_mail"

    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    #: Extra headers (e.g. RFC 8058 List-Unsubscribe); cleared with the body after delivery.
    headers: Mapped[dict[str, str] | None] = mapped_column(JSONType)
    #: An HTML alternative of `body` (a quote's summary); cleared with the body after delivery.
    html: Mapped[str | None] = mapped_column(Text)
    #: Text attachments [{"filename", "content_type", "content"}] (a calendar invitation);
    #: cleared with the body after delivery.
    attachments: Mapped[list[dict[str, str]] | None] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|sent|kept|failed
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str] = mapped_column(String(300), default="")
    sent_at: Mapped[datetime | None]
    #: The process delivering it and until when (`camtel.db.claims`, `notify.email.DELIVERY`).
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claimed_until: Mapped[datetime | None]
