"""Trips, stops and position exports through the API, with tenancy enforced."""

from __future__ import annotations

import csv
import io
import json
import uuid
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest

from camtel.trips.service import iter_positions
from helpers.accounts import sign_up
from helpers.trips import DAY, T0, add_device, commute, store

GPX = "{http://www.topografix.com/GPX/1/1}"
GX = "{http://www.google.com/kml/ext/2.2}"


async def _owner_with_commute(client, services, name="Van 1"):  # type: ignore[no-untyped-def]
    headers, _ = await sign_up(client, services, "trips@example.com")
    device = await add_device(client, headers, name, "4001")
    await store(services, device, commute().fixes)
    return headers, device


async def test_trips_and_stops_of_a_day(client, services):
    headers, device = await _owner_with_commute(client, services)
    trips = await client.get(f"/api/v1/devices/{device}/trips", headers=headers, params=DAY)
    assert trips.status_code == 200, trips.text
    [trip] = trips.json()
    assert trip["start"]["time"] == "2026-03-02T06:11:00Z"
    assert trip["end"]["time"] == "2026-03-02T06:28:00Z"
    assert trip["distance_m"] == pytest.approx(9000, rel=0.01)
    assert trip["duration_s"] == 1020
    assert trip["driving_s"] == 970
    assert trip["idle_s"] == 50
    assert trip["max_speed_kmh"] == 36.0
    assert trip["avg_speed_kmh"] == pytest.approx(31.8, abs=0.2)
    stops = await client.get(f"/api/v1/devices/{device}/stops", headers=headers, params=DAY)
    assert [(s["start_time"], s["end_time"]) for s in stops.json()] == [
        ("2026-03-02T06:00:00Z", "2026-03-02T06:11:00Z"),
        ("2026-03-02T06:28:00Z", "2026-03-02T06:57:00Z"),
    ]
    assert stops.json()[0]["idle_s"] == 60
    later = {"from": (T0 + timedelta(hours=3)).isoformat(), "to": DAY["to"]}
    assert (await client.get(f"/api/v1/devices/{device}/trips", headers=headers,
                             params=later)).status_code == 422  # fmt: skip
    empty = {
        "from": (T0 - timedelta(days=2)).isoformat(),
        "to": (T0 - timedelta(days=1)).isoformat(),
    }
    assert (await client.get(f"/api/v1/devices/{device}/trips", headers=headers,
                             params=empty)).json() == []  # fmt: skip


async def test_ranges_longer_than_a_month_are_refused(client, services):
    headers, device = await _owner_with_commute(client, services)
    long = {"from": (T0 - timedelta(days=32)).isoformat(), "to": T0.isoformat()}
    for path in ("trips", "stops", "positions/export"):
        answer = await client.get(f"/api/v1/devices/{device}/{path}", headers=headers, params=long)
        assert answer.status_code == 422, path
        assert answer.headers["content-type"] == "application/problem+json"
    limited = await client.get(
        f"/api/v1/devices/{device}/positions/export",
        headers=headers,
        params={**long, "to": DAY["to"], "limit": 3, "format": "csv"},
    )
    assert limited.status_code == 200
    assert len(list(csv.reader(io.StringIO(limited.text)))) == 1 + 3
    naive = await client.get(
        f"/api/v1/devices/{device}/trips", headers=headers, params={"from": "2026-03-02T06:00:00"}
    )
    assert naive.status_code == 422, "times need an offset"


async def test_export_in_every_format(client, services):
    headers, device = await _owner_with_commute(client, services, name='Van "A", <B> & C')
    count = len(commute().fixes)
    url = f"/api/v1/devices/{device}/positions/export"
    kinds = {
        "gpx": "application/gpx+xml",
        "geojson": "application/geo+json",
        "kml": "application/vnd.google-earth.kml+xml",
        "csv": "text/csv; charset=utf-8",
    }
    for name, media_type in kinds.items():
        answer = await client.get(url, headers=headers, params={**DAY, "format": name})
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == media_type
        disposition = answer.headers["content-disposition"]
        assert disposition == (
            f'attachment; filename="camtel-{device}-20260302T060000Z-20260302T080000Z.{name}"'
        )
        assert answer.headers["cache-control"] == "no-store"
        if name == "gpx":
            root = ET.fromstring(answer.content)
            assert root.find(f"{GPX}trk/{GPX}name").text == 'Van "A", <B> & C'
            assert len(root.findall(f".//{GPX}trkpt")) == count
        elif name == "kml":
            assert len(ET.fromstring(answer.content).findall(f".//{GX}coord")) == count
        elif name == "geojson":
            data = json.loads(answer.content)
            assert len(data["features"]) == count
            assert data["features"][0]["properties"]["time"] == "2026-03-02T06:00:00Z"
        else:
            rows = list(csv.DictReader(io.StringIO(answer.text)))
            assert len(rows) == count
            assert rows[0]["device"] == 'Van "A", <B> & C'
    default = await client.get(url, headers=headers, params=DAY)
    assert default.headers["content-type"] == "application/gpx+xml"
    unknown = await client.get(url, headers=headers, params={**DAY, "format": "shp"})
    assert unknown.status_code == 422
    assert "gpx" in unknown.json()["detail"]


async def test_other_peoples_devices_are_not_found(client, services):
    _, device = await _owner_with_commute(client, services)
    stranger, _ = await sign_up(client, services, "stranger@example.com")
    for path in ("trips", "stops", "positions/export"):
        answer = await client.get(f"/api/v1/devices/{device}/{path}", headers=stranger, params=DAY)
        assert answer.status_code == 404, path
        missing = await client.get(f"/api/v1/devices/{uuid.uuid4()}/{path}", headers=stranger)
        assert missing.status_code == 404
        assert (await client.get(f"/api/v1/devices/{device}/{path}")).status_code == 401


async def test_positions_are_read_in_chunks_in_order(client, services):
    _, device = await _owner_with_commute(client, services)
    fixes = commute().fixes
    async with services.database.session() as db:
        rows = [
            row
            async for row in iter_positions(
                db, device_id=uuid.UUID(device), start=T0, end=T0 + timedelta(days=1), chunk=7
            )
        ]
        assert [r.time for r in rows] == [f.time for f in fixes]
        some = [
            row.time
            async for row in iter_positions(
                db, device_id=uuid.UUID(device), start=fixes[3].time, end=fixes[-1].time,
                limit=10, chunk=4,
            )
        ]  # fmt: skip
        assert some == [f.time for f in fixes[3:13]]
