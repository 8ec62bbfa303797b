"""Free-form JSON fields are bounded on the way in (depth, keys per object, size, NUL, NaN),
and a value stored before the bounds cannot take a list down on the way out."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

from camtel.api.schemas import MAX_JSON_BYTES, MAX_JSON_DEPTH, MAX_JSON_KEYS
from camtel.devices.models import Device, Position
from camtel.events.models import Event
from helpers.accounts import sign_up
from helpers.geofences import geofence_client

SQUARE = [[13.0, 52.0], [13.01, 52.0], [13.01, 52.01], [13.0, 52.01], [13.0, 52.0]]


def nested(levels: int) -> dict:
    """An object `levels` deep: {"a": {"a": ... {}}}."""
    value: dict = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


async def test_deep_attributes_are_refused_and_the_list_stays_up(client, services):
    headers, _ = await sign_up(client, services, "deep@example.com")

    def device(unique_id: str, attributes: object) -> dict:
        return {
            "name": "Van",
            "unique_id": unique_id,
            "protocol": "osmand",
            "attributes": attributes,
        }

    deep = await client.post("/api/v1/devices", headers=headers, json=device("1", nested(900)))
    assert deep.status_code == 422, deep.text
    assert deep.json()["errors"][0]["location"][:2] == ["body", "attributes"]
    listed = await client.get("/api/v1/devices", headers=headers)
    assert listed.status_code == 200 and listed.json() == []

    deepest_allowed = nested(MAX_JSON_DEPTH)
    made = await client.post("/api/v1/devices", headers=headers, json=device("2", deepest_allowed))
    assert made.status_code == 201, made.text
    assert made.json()["attributes"] == deepest_allowed
    device_url = f"/api/v1/devices/{made.json()['id']}"

    refused = {
        "one level too deep": nested(MAX_JSON_DEPTH + 1),
        "too deep inside a list": {"a": [[[[[[[[[[1]]]]]]]]]]},
        "too many keys": {f"k{n}": n for n in range(MAX_JSON_KEYS + 1)},
        "too many keys further down": {"a": {f"k{n}": n for n in range(MAX_JSON_KEYS + 1)}},
        "too large": {"note": "x" * MAX_JSON_BYTES},
        "NUL in a value": {"note": "a\x00b"},
        "NUL in a key": {"a\x00b": 1},
    }
    for why, attributes in refused.items():
        answer = await client.post("/api/v1/devices", headers=headers, json=device("3", attributes))
        assert answer.status_code == 422, (why, answer.text)
        change = await client.patch(device_url, headers=headers, json={"attributes": attributes})
        assert change.status_code == 422, (why, change.text)
    for number in (b"NaN", b"Infinity", b"-Infinity"):  # Python's JSON parser takes these
        raw = b'{"name": "Van", "unique_id": "4", "protocol": "osmand", "attributes": {"x": %s}}'
        answer = await client.post(
            "/api/v1/devices",
            headers=headers | {"content-type": "application/json"},
            content=raw % number,
        )
        assert answer.status_code == 422, (number, answer.text)

    listed = await client.get("/api/v1/devices", headers=headers)
    assert listed.status_code == 200
    assert [d["attributes"] for d in listed.json()] == [deepest_allowed]


async def test_rows_stored_before_the_bounds_do_not_break_lists(client, services):
    headers, _ = await sign_up(client, services, "stored@example.com")
    made = await client.post(
        "/api/v1/devices",
        headers=headers,
        json={"name": "Van", "unique_id": "9001", "protocol": "osmand", "attributes": {"a": 1}},
    )
    assert made.status_code == 201, made.text
    device_id = uuid.UUID(made.json()["id"])
    organization_id = uuid.UUID(made.json()["organization_id"])
    time = datetime.now(UTC) - timedelta(minutes=1)
    async with services.database.session() as db:
        # What the API let in before it bounded attributes, and what a device could send:
        # deeper than the answer's serialiser goes (it gives up at about 255 levels).
        (await db.get(Device, device_id)).attributes = nested(300)  # type: ignore[union-attr]
        db.add(
            Position(
                device_id=device_id,
                time=time,
                server_time=time,
                latitude=52.5,
                longitude=13.4,
                attributes=nested(300),
            )
        )
        db.add(
            Event(
                organization_id=organization_id,
                device_id=device_id,
                type="alarm",
                time=time,
                cause="alarm:deep",
                attributes=nested(300),
                created_at=time,
            )
        )
        await db.commit()
    for url in (
        "/api/v1/devices",
        f"/api/v1/devices/{device_id}",
        f"/api/v1/devices/{device_id}/positions",
        "/api/v1/events",
    ):
        answer = await client.get(url, headers=headers)
        assert answer.status_code == 200, (url, answer.text)
        items = answer.json() if isinstance(answer.json(), list) else [answer.json()]
        assert [item["attributes"] for item in items] == [{}], url
    # A value deep but within what answers serve is served as stored.
    async with services.database.session() as db:
        (await db.get(Device, device_id)).attributes = nested(20)  # type: ignore[union-attr]
        await db.commit()
    one = await client.get(f"/api/v1/devices/{device_id}", headers=headers)
    assert one.json()["attributes"] == nested(20)


async def test_geofence_areas_and_schedules_are_bounded(services):
    async with geofence_client(services) as http:
        headers, _ = await sign_up(http, services, "fence-json@example.com")
        deep_area = {"type": "Polygon", "coordinates": json.loads("[" * 900 + "]" * 900)}
        cases = [
            {"name": "Deep", "area": deep_area},
            {
                "name": "Wide",
                "area": {
                    "type": "Polygon",
                    "coordinates": [SQUARE],
                    **{f"k{n}": n for n in range(MAX_JSON_KEYS)},
                },
            },
            {
                "name": "Late",
                "area": {"type": "Polygon", "coordinates": [SQUARE]},
                "schedule": {"days": nested(900)},
            },
        ]
        for body in cases:
            answer = await http.post("/api/v1/geofences", headers=headers, json=body)
            assert answer.status_code == 422, (body["name"], answer.text)
        many = [[13.0 + n / 100_000, 52.0 + (n % 2) / 1000] for n in range(4000)]
        # A long corridor: 4,000 positions, about 150 KB of JSON, well past the 16 KiB of
        # attributes but within the bound of areas.
        road = await http.post(
            "/api/v1/geofences",
            headers=headers,
            json={
                "name": "Road",
                "area": {"type": "LineString", "coordinates": many},
                "width_m": 50,
            },
        )
        assert road.status_code == 201, road.text
        multi = await http.post(
            "/api/v1/geofences",
            headers=headers,
            json={
                "name": "Yards",
                "area": {"type": "MultiPolygon", "coordinates": [[SQUARE]]},
                "schedule": {"time_zone": "Europe/Berlin", "days": ["mon"]},
            },
        )
        assert multi.status_code == 201, multi.text
        listed = await http.get("/api/v1/geofences", headers=headers)
        assert listed.status_code == 200 and len(listed.json()) == 2


async def test_a_nul_character_in_any_text_field_is_a_clear_422(client, services):  # type: ignore[no-untyped-def]
    headers, _ = await sign_up(client, services, "nul-text@example.com")
    device = await client.post(
        "/api/v1/devices",
        headers=headers,
        json={"name": "Van\x001", "unique_id": "nul-1", "protocol": "osmand"},
    )
    assert device.status_code == 422, device.text
    assert "NUL" in device.json()["detail"]
    profile = await client.patch("/api/v1/me", headers=headers, json={"display_name": "A\x00B"})
    assert profile.status_code == 422, profile.text
    fence = await client.post(
        "/api/v1/geofences",
        headers=headers,
        json={"name": "x\x00", "area": {"type": "Point", "coordinates": [8, 50]}, "radius_m": 50},
    )
    assert fence.status_code == 422, fence.text
    listed = await client.get("/api/v1/devices", headers=headers)
    assert listed.status_code == 200 and listed.json() == []
