"""The digest log: which day's digest each person has had, so a digest goes out once."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from camtel.db.base import Base


class DigestLog(Base):
    """One row per person and digested day; its key makes a second send a no-op."""

    __tablename__ = "digest_log"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(primary_key=True)
    sent_at: Mapped[datetime]
    mailed: Mapped[bool] = mapped_column(default=True)  # False: nothing happened, no mail
