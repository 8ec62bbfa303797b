"""Position answers are written without a model per row; they are byte for byte what the
documented response models would write for the same fixes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from pydantic import TypeAdapter

from camtel.api.devices import LatestPositionOut, PositionOut
from camtel.devices.latest import rebuild
from camtel.devices.models import Position
from camtel.protocols.jt808_location import status_names
from helpers.accounts import sign_up

BASE = datetime(2026, 6, 1, 6, 0, 0, 250_000, tzinfo=UTC)
ATTRIBUTES = [
    {"status_flags": 3, **status_names(3), "odometer_m": 1200, "satellites": 9, "motion": True,
     "distance_m": 4.5, "total_distance_m": 99.5},
    {"battery_level": 81.0, "charging": False, "note": "über", "nested": {"a": [1, 2.5, None]}},
    {},
]


async def test_answers_are_what_the_models_would_write(client, services):
    headers, _ = await sign_up(client, services, "shape@example.com")
    made = await client.post("/api/v1/devices", headers=headers,
                             json={"name": "Van", "unique_id": "shape-1", "protocol": "osmand"})
    device = uuid.UUID(made.json()["id"])
    async with services.database.session() as db:
        for n, attributes in enumerate(ATTRIBUTES):
            db.add(Position(device_id=device, time=BASE + timedelta(seconds=n),
                            server_time=BASE, latitude=52.5 + n / 7, longitude=13.4,
                            speed_kmh=None if n else 12.3, course=float(n), altitude=-3.5,
                            accuracy_m=None, valid=bool(n % 2), source="gps",
                            attributes=attributes))
        await rebuild(db)  # written outside the store: kept ready as the store does
    day = await client.get(
        f"/api/v1/devices/{device}/positions", headers=headers,
        params={"from": BASE.isoformat(), "to": (BASE + timedelta(hours=1)).isoformat()})
    assert day.status_code == 200, day.text
    models = TypeAdapter(list[PositionOut])
    assert day.content == models.dump_json(models.validate_json(day.content))
    assert [p["attributes"] for p in day.json()] == ATTRIBUTES
    assert day.json()[0]["time"] == "2026-06-01T06:00:00.250000Z"

    latest = await client.get("/api/v1/positions/latest", headers=headers)
    assert latest.status_code == 200, latest.text
    models_latest = TypeAdapter(list[LatestPositionOut])
    (answer,) = models_latest.validate_json(latest.content)
    assert answer.device_id == device and answer.attributes == {}
    assert latest.json()[0].keys() == {*LatestPositionOut.model_fields}
