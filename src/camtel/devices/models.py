"""Tables of devices, device groups, pending (unclaimed) devices and positions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from camtel.db.base import Base, CreatedMixin, IdMixin


class DeviceGroup(IdMixin, CreatedMixin, Base):
    """A named set of devices in one organisation (a fleet, a depot, a family)."""

    __tablename__ = "device_groups"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))


class Device(IdMixin, CreatedMixin, Base):
    """A dash cam or tracker; `unique_id` is how the device names itself in its protocol."""

    __tablename__ = "devices"
    __table_args__ = (UniqueConstraint("protocol", "unique_id"),)

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    group_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("device_groups.id", ondelete="SET NULL"), index=True
    )
    driver_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    unique_id: Mapped[str] = mapped_column(String(64))
    protocol: Mapped[str] = mapped_column(String(32))
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_seen_at: Mapped[datetime | None]


class PendingDevice(IdMixin, Base):
    """A device that connected before anyone registered it; an owner can claim it."""

    __tablename__ = "pending_devices"
    __table_args__ = (UniqueConstraint("protocol", "unique_id"),)

    protocol: Mapped[str] = mapped_column(String(32))
    unique_id: Mapped[str] = mapped_column(String(64))
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=1)


class Position(IdMixin, Base):
    """One fix of one device. (device, time, dedup) makes a repeated delivery a no-op."""

    __tablename__ = "positions"
    __table_args__ = (
        UniqueConstraint("device_id", "time", "dedup"),
        Index("ix_positions_device_time", "device_id", "time"),
    )

    device_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    time: Mapped[datetime]
    server_time: Mapped[datetime]
    latitude: Mapped[float]
    longitude: Mapped[float]
    valid: Mapped[bool] = mapped_column(default=True)
    speed_kmh: Mapped[float | None]
    course: Mapped[float | None]
    altitude: Mapped[float | None]
    accuracy_m: Mapped[float | None]
    source: Mapped[str] = mapped_column(String(16), default="gps")
    dedup: Mapped[str] = mapped_column(String(32), default="")
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
