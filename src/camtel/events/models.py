"""The events table: one row per thing that happened to a device, keyed by its cause."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from camtel.db.base import Base, IdMixin

#: Event types camtel knows; the urgent ones are pushed first and ignore quiet hours.
EVENT_TYPES = (
    "geofence_enter",
    "geofence_exit",
    "overspeed",
    "alarm",
    "harsh_braking",
    "harsh_acceleration",
    "harsh_event",
    "collision",
    "ignition_on",
    "ignition_off",
    "device_online",
    "device_offline",
    "motion_start",
    "motion_stop",
)


class Event(IdMixin, Base):
    """One event of one device. (device_id, cause) makes a repeated decision a no-op."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("device_id", "cause"),
        Index("ix_events_device_time", "device_id", "time"),
        Index("ix_events_organization_time", "organization_id", "time"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    device_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(32))
    time: Mapped[datetime]
    urgent: Mapped[bool] = mapped_column(default=False)
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    cause: Mapped[str] = mapped_column(String(160))
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
