"""A device's trips and stops, and its positions exported as GPX, GeoJSON, KML or CSV."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime, BaseModel

from camtel.api.deps import CallerDep, Db, Svc
from camtel.devices import service as devices
from camtel.devices.models import Device
from camtel.errors import Invalid
from camtel.privacy import audit
from camtel.trips import formats
from camtel.trips.detect import Rules, Stop, Trip
from camtel.trips.service import iter_positions, summarise

router = APIRouter(tags=["trips"])

#: The longest range a request may cover (an export may go further with `limit`).
MAX_RANGE = timedelta(days=31)
MAX_EXPORT_POSITIONS = 1_000_000

Start = Annotated[
    AwareDatetime | None,
    Query(alias="from", description="Start (ISO 8601 with offset); default 24 hours before `to`."),
]
End = Annotated[
    AwareDatetime | None, Query(alias="to", description="End (ISO 8601 with offset); default now.")
]


def time_range(
    start: datetime | None, end: datetime | None, now: datetime, *, bounded: bool = True
) -> tuple[datetime, datetime]:
    """The [from, to] of a request, defaulted and checked."""
    end = end or now
    start = start or end - timedelta(hours=24)
    if start > end:
        raise Invalid("`from` is after `to`", field="from")
    if bounded and end - start > MAX_RANGE:
        raise Invalid(f"the range is longer than {MAX_RANGE.days} days", field="from")
    return start, end


class PlaceOut(BaseModel):
    time: datetime
    latitude: float
    longitude: float


class TripOut(BaseModel):
    start: PlaceOut
    end: PlaceOut
    distance_m: float
    duration_s: float
    driving_s: float
    idle_s: float
    max_speed_kmh: float
    avg_speed_kmh: float
    positions: int

    @classmethod
    def of(cls, trip: Trip) -> TripOut:
        return cls(
            start=PlaceOut(**_place(trip.start)),
            end=PlaceOut(**_place(trip.end)),
            distance_m=trip.distance_m,
            duration_s=trip.duration_s,
            driving_s=trip.moving_s,
            idle_s=trip.idle_s,
            max_speed_kmh=trip.max_speed_kmh,
            avg_speed_kmh=round(trip.avg_speed_kmh, 1),
            positions=trip.positions,
        )


class StopOut(BaseModel):
    start_time: datetime
    end_time: datetime
    duration_s: float
    latitude: float
    longitude: float
    idle_s: float

    @classmethod
    def of(cls, stop: Stop) -> StopOut:
        return cls(
            start_time=stop.start_time,
            end_time=stop.end_time,
            duration_s=stop.duration_s,
            latitude=stop.latitude,
            longitude=stop.longitude,
            idle_s=stop.idle_s,
        )


def _audit(db: Db, caller: CallerDep, device: Device, action: str, now: datetime) -> None:
    """Record a read of a driven device's data by someone other than its driver."""
    audit.record(
        db,
        subject=device.driver_id,
        actor=caller.user.id,
        role=str(caller.roles.get(device.organization_id, "")),
        action=action,
        resource=f"device:{device.id}",
        now=now,
    )


def _place(place: object) -> dict[str, object]:
    return {k: getattr(place, k) for k in ("time", "latitude", "longitude")}


async def _detect(
    db: Db,
    caller: CallerDep,
    services: Svc,
    device_id: uuid.UUID,
    start: datetime | None,
    end: datetime | None,
    action: str,
) -> tuple[list[Trip], list[Stop]]:
    """Trips and stops of a visible device in a range (the read is audited)."""
    start, end = time_range(start, end, services.clock())
    device = await devices.get(db, caller=caller, device_id=device_id)
    _audit(db, caller, device, action, services.clock())
    trips, stops, _ = await summarise(
        db, device_id=device.id, start=start, end=end, rules=Rules.from_settings(services.settings)
    )
    return trips, stops


@router.get(
    "/devices/{device_id}/trips",
    response_model=list[TripOut],
    summary="A device's trips in a time range (up to 31 days), oldest first",
)
async def list_trips(
    device_id: uuid.UUID,
    caller: CallerDep,
    db: Db,
    services: Svc,
    start: Start = None,
    end: End = None,
) -> list[TripOut]:
    trips, _ = await _detect(db, caller, services, device_id, start, end, "read_trips")
    return [TripOut.of(t) for t in trips]


@router.get(
    "/devices/{device_id}/stops",
    response_model=list[StopOut],
    summary="A device's stops (parkings) in a time range (up to 31 days), oldest first",
)
async def list_stops(
    device_id: uuid.UUID,
    caller: CallerDep,
    db: Db,
    services: Svc,
    start: Start = None,
    end: End = None,
) -> list[StopOut]:
    _, stops = await _detect(db, caller, services, device_id, start, end, "read_stops")
    return [StopOut.of(s) for s in stops]


def stamp(time: datetime) -> str:
    return time.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


@router.get(
    "/devices/{device_id}/positions/export",
    response_class=StreamingResponse,
    summary="A device's positions as a GPX, GeoJSON, KML or CSV file",
    responses={200: {"content": {f.media_type: {} for f in formats.FORMATS.values()}}},
)
async def export_positions(
    device_id: uuid.UUID,
    caller: CallerDep,
    db: Db,
    services: Svc,
    format: Annotated[str, Query(description=f"One of: {', '.join(formats.FORMATS)}.")] = "gpx",
    start: Start = None,
    end: End = None,
    limit: Annotated[
        int | None,
        Query(
            ge=1,
            le=MAX_EXPORT_POSITIONS,
            description="At most this many positions, oldest first; allows a range over 31 days.",
        ),
    ] = None,
) -> StreamingResponse:
    spec = formats.FORMATS.get(format)
    if spec is None:
        raise Invalid(
            f"unknown format {format!r}: use {', '.join(formats.FORMATS)}", field="format"
        )
    start, end = time_range(start, end, services.clock(), bounded=limit is None)
    device = await devices.get(db, caller=caller, device_id=device_id)
    _audit(db, caller, device, "export_positions", services.clock())
    writer = spec.writer(device.name)
    database = services.database

    async def body() -> AsyncIterator[bytes]:
        # A session of its own: the request's may be closed while the file still streams.
        async with database.session() as session:
            rows = iter_positions(session, device_id=device.id, start=start, end=end, limit=limit)
            async for chunk in formats.stream(writer, rows):
                yield chunk

    filename = f"camtel-{device.id}-{stamp(start)}-{stamp(end)}.{spec.extension}"
    return StreamingResponse(
        body(),
        media_type=spec.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
