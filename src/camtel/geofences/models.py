"""Geofence tables: the fence (shape, limits, schedule) and its links to devices and groups."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from camtel.db.base import Base, CreatedMixin, IdMixin

#: What leaving or entering a fence means: nothing more than an event, or a breach (urgent).
BREACH_ON = ("exit", "enter")


class Geofence(IdMixin, CreatedMixin, Base):
    """An area of one organisation. With no device or group links it applies to every
    device of the organisation."""

    __tablename__ = "geofences"

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(16))  # polygon | circle | corridor
    #: GeoJSON geometry in WGS 84 degrees: Polygon/MultiPolygon, Point (circle), LineString.
    geometry: Mapped[dict[str, Any]]
    radius_m: Mapped[float | None]
    width_m: Mapped[float | None]
    speed_limit_kmh: Mapped[float | None]
    #: {"time_zone", "days", "start", "end"}: when the fence is watched; None is always.
    schedule: Mapped[dict[str, Any] | None]
    #: "exit" for an area the device must stay in, "enter" for one it must stay out of.
    breach_on: Mapped[str | None] = mapped_column(String(8))
    updated_at: Mapped[datetime]


class GeofenceDevice(Base):
    """A device a fence is limited to."""

    __tablename__ = "geofence_devices"

    geofence_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("geofences.id", ondelete="CASCADE"), primary_key=True
    )
    device_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class GeofenceGroup(Base):
    """A device group a fence is limited to (every device in it, now and later)."""

    __tablename__ = "geofence_groups"

    geofence_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("geofences.id", ondelete="CASCADE"), primary_key=True
    )
    group_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("device_groups.id", ondelete="CASCADE"), primary_key=True, index=True
    )
