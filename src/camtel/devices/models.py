"""Tables of devices, device groups, pending (unclaimed) devices and positions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Double, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from camtel.db.base import Base, CreatedMixin, IdMixin, UTCMicros
from camtel.devices import position_attributes


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


class Position(Base):
    """One fix of one device, kept lean (~150 bytes in SQLite, see docs/performance.md).

    The key (device, time, dedup) makes a repeated delivery a no-op and keeps a device's fixes
    together in time order: in SQLite the table *is* that key's B-tree (`WITHOUT ROWID`), so a
    day of one device is read from consecutive pages. `dedup` is a 64-bit digest of what the
    fix says (`camtel.dedup.dedup_key`). Attributes most fixes carry have typed columns and
    the rest is `extra` (`devices.position_attributes`); `attributes` gives them back as one
    dictionary and takes one.
    """

    __tablename__ = "positions"
    __table_args__ = {"sqlite_with_rowid": False}

    device_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True
    )
    time: Mapped[datetime] = mapped_column(UTCMicros(), primary_key=True)
    dedup: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=0)
    server_time: Mapped[datetime] = mapped_column(UTCMicros())
    latitude: Mapped[float] = mapped_column(Double)
    longitude: Mapped[float] = mapped_column(Double)
    valid: Mapped[bool] = mapped_column(default=True)
    speed_kmh: Mapped[float | None] = mapped_column(Double)
    course: Mapped[float | None] = mapped_column(Double)
    altitude: Mapped[float | None] = mapped_column(Double)
    accuracy_m: Mapped[float | None] = mapped_column(Double)
    source: Mapped[str] = mapped_column(String(16), default="gps")
    alarm_flags: Mapped[int | None] = mapped_column(BigInteger)
    odometer_m: Mapped[int | None] = mapped_column(BigInteger)
    satellites: Mapped[int | None] = mapped_column(BigInteger)
    rssi: Mapped[int | None] = mapped_column(BigInteger)
    ignition: Mapped[bool | None]
    blind_area: Mapped[bool | None]
    motion: Mapped[bool | None]
    distance_m: Mapped[float | None] = mapped_column(Double)
    total_distance_m: Mapped[float | None] = mapped_column(Double)
    status_flags: Mapped[int | None] = mapped_column(BigInteger)
    extra: Mapped[dict[str, Any] | None]

    def __init__(self, *, attributes: dict[str, Any] | None = None, **columns: Any) -> None:
        super().__init__(**columns)
        self.attributes = attributes or {}

    @property
    def attributes(self) -> dict[str, Any]:
        """All the fix's attributes, as the device and the pipeline gave them."""
        return position_attributes.unpack([getattr(self, name) for name in _PACKED])

    @attributes.setter
    def attributes(self, value: dict[str, Any]) -> None:
        for name, packed in zip(_PACKED, position_attributes.pack(value), strict=True):
            setattr(self, name, packed)



class LatestPosition(Base):
    """The newest fix of a device kept ready for the live map (`devices.latest`): its key in
    `positions` (`time`, `dedup`), so that an older, late or repeated fix never replaces it,
    and `fragment`, the JSON text of that fix as `GET /positions/latest` answers it."""

    __tablename__ = "latest_positions"

    device_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True
    )
    time: Mapped[datetime] = mapped_column(UTCMicros())
    dedup: Mapped[int] = mapped_column(BigInteger)
    fragment: Mapped[str] = mapped_column(Text)


_PACKED = position_attributes.COLUMNS
