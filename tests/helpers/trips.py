"""Hand-built fixes for trip, export and report tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
DAY = {"from": T0.isoformat(), "to": (T0 + timedelta(hours=2)).isoformat()}
#: Degrees of latitude per metre (on the mean sphere).
DEG_PER_M = 1 / 111_195.0


@dataclass(frozen=True, slots=True)
class Fix:
    time: datetime
    latitude: float
    longitude: float
    speed_kmh: float | None = None
    valid: bool = True
    altitude: float | None = None
    course: float | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


class Route:
    """Builds a day of fixes: park, idle, drive north at a speed, pause, one call at a time."""

    def __init__(self, start: datetime = T0, lat: float = 52.5, lon: float = 13.4) -> None:
        self.time, self.lat, self.lon = start, lat, lon
        self.fixes: list[Fix] = []

    def _add(self, speed: float, motion: bool, ignition: bool | None, **extra: Any) -> None:
        attributes: dict[str, Any] = {"motion": motion}
        if ignition is not None:
            attributes["ignition"] = ignition
        attributes.update(extra)
        self.fixes.append(Fix(self.time, self.lat, self.lon, speed, attributes=attributes))

    def park(self, seconds: float, every: float = 60, ignition: bool | None = False) -> Route:
        end = self.time + timedelta(seconds=seconds)
        while self.time < end:
            self._add(0.0, False, ignition)
            self.time += timedelta(seconds=every)
        return self

    def drive(self, seconds: float, kmh: float = 36.0, every: float = 10) -> Route:
        end = self.time + timedelta(seconds=seconds)
        while self.time < end:
            self._add(kmh, True, True)
            self.time += timedelta(seconds=every)
            self.lat += kmh / 3.6 * every * DEG_PER_M
        return self

    def silence(self, seconds: float) -> Route:
        self.time += timedelta(seconds=seconds)
        return self

    def here(self, ignition: bool | None = False) -> Route:
        self._add(0.0, False, ignition)
        return self


async def store(services: Any, device_id: str, fixes: list[Fix]) -> None:
    """Write fixes as stored positions of a device, as the pipeline would."""
    import uuid

    from camtel.devices.models import Position

    async with services.database.session() as db:
        db.add_all(
            Position(
                device_id=uuid.UUID(device_id),
                time=f.time,
                server_time=f.time,
                latitude=f.latitude,
                longitude=f.longitude,
                speed_kmh=f.speed_kmh,
                course=f.course,
                altitude=f.altitude,
                valid=f.valid,
                dedup=str(n),
                attributes=f.attributes,
            )
            for n, f in enumerate(fixes)
        )


async def add_device(client: Any, headers: dict[str, str], name: str, unique_id: str) -> str:
    """Register an OsmAnd device through the API; returns its id."""
    answer = await client.post(
        "/api/v1/devices",
        headers=headers,
        json={"name": name, "unique_id": unique_id, "protocol": "osmand"},
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def commute(start: datetime = T0) -> Route:
    """Parked, engine on, 10 min drive, a red light, 5 min drive, parked: 9 km, one trip."""
    return (
        Route(start)
        .park(600)
        .park(120, ignition=True)
        .drive(600)
        .park(60, every=10, ignition=True)
        .drive(300)
        .park(1800)
    )
