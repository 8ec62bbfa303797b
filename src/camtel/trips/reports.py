"""The summary report per device and period: distance, driving and idle time, speed, events.

Definitions (also in docs/api.md):
- distance: the sum of the period's trip distances (so the report agrees with the trips list);
- driving time: time in driving steps of those trips (short pauses at lights are not driving);
- idle time: ignition reported on while not moving, in trips and stops alike;
- max speed: the highest speed of any valid fix in the period.
Only positions inside the period count: a trip under way at its start begins there.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.accounts.caller import Caller
from camtel.devices import service as devices
from camtel.devices.models import Device
from camtel.errors import Invalid
from camtel.events.models import EVENT_TYPES, Event
from camtel.trips.detect import Detector, Rules, Stop, Trip
from camtel.trips.formats import csv_cell, csv_row, iso
from camtel.trips.service import summarise

#: A report over more devices than this must name them.
MAX_DEVICES = 500


@dataclass(slots=True)
class Summary:
    """One device's figures for a period."""

    device_id: uuid.UUID | None  # None for the total
    name: str
    positions: int = 0
    trips: int = 0
    stops: int = 0
    distance_m: float = 0.0
    driving_s: float = 0.0
    idle_s: float = 0.0
    max_speed_kmh: float | None = None
    events: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "device_id": None if self.device_id is None else str(self.device_id),
            "name": self.name,
            "positions": self.positions,
            "trips": self.trips,
            "stops": self.stops,
            "distance_m": round(self.distance_m, 1),
            "driving_s": round(self.driving_s),
            "idle_s": round(self.idle_s),
            "max_speed_kmh": self.max_speed_kmh,
            "events": dict(self.events),
        }


def summary_of(
    device_id: uuid.UUID,
    name: str,
    trips: Sequence[Trip],
    stops: Sequence[Stop],
    detector: Detector,
    events: dict[str, int],
) -> Summary:
    """A device's figures from its trips, stops, detector totals and event counts."""
    return Summary(
        device_id=device_id,
        name=name,
        positions=detector.positions,
        trips=len(trips),
        stops=len(stops),
        distance_m=sum(t.distance_m for t in trips),
        driving_s=sum(t.moving_s for t in trips),
        idle_s=detector.idle_s,
        max_speed_kmh=detector.max_speed_kmh,
        events=events,
    )


def total(summaries: Iterable[Summary]) -> Summary:
    """The sum over devices (the highest speed of all of them)."""
    out = Summary(device_id=None, name="total")
    for s in summaries:
        out.positions += s.positions
        out.trips += s.trips
        out.stops += s.stops
        out.distance_m += s.distance_m
        out.driving_s += s.driving_s
        out.idle_s += s.idle_s
        if s.max_speed_kmh is not None:
            out.max_speed_kmh = max(out.max_speed_kmh or 0.0, s.max_speed_kmh)
        for kind, count in s.events.items():
            out.events[kind] = out.events.get(kind, 0) + count
    return out


def report_dict(summaries: Sequence[Summary], start: datetime, end: datetime) -> dict[str, Any]:
    """The report as JSON-ready data."""
    return {
        "from": iso(start),
        "to": iso(end),
        "devices": [s.as_dict() for s in summaries],
        "total": total(summaries).as_dict(),
    }


def event_columns(summaries: Sequence[Summary]) -> list[str]:
    """Known event types in their usual order, then any others seen, alphabetically."""
    seen = {kind for s in summaries for kind in s.events}
    return [*EVENT_TYPES, *sorted(seen - set(EVENT_TYPES))]


def report_csv(summaries: Sequence[Summary], start: datetime, end: datetime) -> Iterator[str]:
    """The report as CSV: a row per device and a last row of totals."""
    kinds = event_columns(summaries)
    yield csv_row(
        [
            "device_id", "device", "from", "to", "positions", "trips", "stops", "distance_m",
            "driving_s", "idle_s", "max_speed_kmh", "events",
            *(f"events_{kind}" for kind in kinds),
        ]
    )  # fmt: skip
    for s in [*summaries, total(summaries)]:
        row = s.as_dict()
        yield csv_row(
            [
                row["device_id"] or "total",
                csv_cell(s.name),
                iso(start),
                iso(end),
                row["positions"],
                row["trips"],
                row["stops"],
                row["distance_m"],
                row["driving_s"],
                row["idle_s"],
                "" if s.max_speed_kmh is None else s.max_speed_kmh,
                sum(s.events.values()),
                *(s.events.get(kind, 0) for kind in kinds),
            ]
        )


async def report_devices(
    db: AsyncSession, *, caller: Caller, device_ids: Sequence[uuid.UUID] | None
) -> list[Device]:
    """The devices a report covers: those named (each must be visible) or all visible."""
    if device_ids:
        found = [
            await devices.get(db, caller=caller, device_id=d) for d in dict.fromkeys(device_ids)
        ]
        return found
    rows = list(
        await db.scalars(
            devices.visible_devices(caller).order_by(Device.name, Device.id).limit(MAX_DEVICES + 1)
        )
    )
    if len(rows) > MAX_DEVICES:
        raise Invalid(
            f"more than {MAX_DEVICES} devices: name them with device_id", field="device_id"
        )
    return rows


async def event_counts(
    db: AsyncSession, *, device_ids: Sequence[uuid.UUID], start: datetime, end: datetime
) -> dict[uuid.UUID, dict[str, int]]:
    """Events per device and type in [start, end]."""
    counts: dict[uuid.UUID, dict[str, int]] = {d: {} for d in device_ids}
    if not device_ids:
        return counts
    rows = await db.execute(
        select(Event.device_id, Event.type, func.count())
        .where(Event.device_id.in_(device_ids), Event.time >= start, Event.time <= end)
        .group_by(Event.device_id, Event.type)
    )
    for device_id, kind, count in rows:
        counts[device_id][kind] = count
    return counts


async def device_summaries(
    db: AsyncSession,
    *,
    devices_: Sequence[Device],
    start: datetime,
    end: datetime,
    rules: Rules,
) -> list[Summary]:
    """The figures of each device (already checked for visibility) in [start, end]."""
    counts = await event_counts(db, device_ids=[d.id for d in devices_], start=start, end=end)
    out = []
    for device in devices_:
        trips, stops, detector = await summarise(
            db, device_id=device.id, start=start, end=end, rules=rules
        )
        out.append(summary_of(device.id, device.name, trips, stops, detector, counts[device.id]))
    return out


async def summary(
    db: AsyncSession,
    *,
    caller: Caller,
    device_ids: Sequence[uuid.UUID] | None,
    start: datetime,
    end: datetime,
    rules: Rules,
) -> list[Summary]:
    """The summary of the named (or all visible) devices in [start, end]."""
    chosen = await report_devices(db, caller=caller, device_ids=device_ids)
    return await device_summaries(db, devices_=chosen, start=start, end=end, rules=rules)
