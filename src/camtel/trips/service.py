"""Reading a device's positions in time order, in chunks, and its trips and stops."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.devices import position_attributes
from camtel.devices.models import Position
from camtel.trips.detect import Detector, Fix, Rules, Stop, Trip

#: Positions read per query: large enough to be quick, small enough to stay light.
CHUNK = 5000

_COLUMNS = (
    Position.time,
    Position.dedup,
    Position.latitude,
    Position.longitude,
    Position.altitude,
    Position.speed_kmh,
    Position.course,
    Position.valid,
    *(getattr(Position, name) for name in position_attributes.COLUMNS),
)
_PLAIN = 8


@dataclass(slots=True, frozen=True)
class Point:
    """A stored fix as trips and track files read it."""

    time: datetime
    latitude: float
    longitude: float
    altitude: float | None
    speed_kmh: float | None
    course: float | None
    valid: bool
    attributes: dict[str, Any]


async def iter_positions(
    db: AsyncSession,
    *,
    device_id: uuid.UUID,
    start: datetime,
    end: datetime,
    limit: int | None = None,
    chunk: int = CHUNK,
) -> AsyncIterator[Point]:
    """A device's positions in [start, end], oldest first, read by keyset in chunks (the
    positions key: device, time, dedup). The caller checks that the device is visible."""
    after: tuple[datetime, int] | None = None
    left = limit
    unpack = position_attributes.unpack
    while left is None or left > 0:
        size = chunk if left is None else min(chunk, left)
        query = (
            select(*_COLUMNS)
            .where(Position.device_id == device_id, Position.time >= start, Position.time <= end)
            .order_by(Position.time, Position.dedup)
            .limit(size)
        )
        if after is not None:
            time, last = after
            query = query.where(
                or_(Position.time > time, and_(Position.time == time, Position.dedup > last))
            )
        rows = (await (await db.connection()).execute(query)).all()
        for row in rows:
            yield Point(
                row[0], row[2], row[3], row[4], row[5], row[6], row[7], unpack(row[_PLAIN:])
            )
        if len(rows) < size:
            return
        after = (rows[-1].time, rows[-1].dedup)
        if left is not None:
            left -= len(rows)


async def summarise(
    db: AsyncSession, *, device_id: uuid.UUID, start: datetime, end: datetime, rules: Rules
) -> tuple[list[Trip], list[Stop], Detector]:
    """Trips and stops of a device in [start, end], and the detector's running totals."""
    detector = Detector(rules)
    trips: list[Trip] = []
    stops: list[Stop] = []

    def keep(items: list[Trip | Stop]) -> None:
        for item in items:
            if isinstance(item, Trip):
                trips.append(item)
            else:
                stops.append(item)

    async for row in iter_positions(db, device_id=device_id, start=start, end=end):
        keep(detector.feed(cast(Fix, row)))
    keep(detector.finish())
    return trips, stops, detector
