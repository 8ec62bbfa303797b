"""The summary report through the API: figures, CSV, and tenancy."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta

import pytest

from camtel.devices.models import Device
from camtel.events.models import Event
from helpers.accounts import sign_up
from helpers.trips import DAY, T0, Route, add_device, commute, store

URL = "/api/v1/reports/summary"


async def add_events(services, device_id: str, kinds: list[str]) -> None:  # type: ignore[no-untyped-def]
    async with services.database.session() as db:
        device = await db.get(Device, uuid.UUID(device_id))
        for n, kind in enumerate(kinds):
            db.add(
                Event(
                    organization_id=device.organization_id,
                    device_id=device.id,
                    type=kind,
                    time=T0 + timedelta(minutes=15, seconds=n),
                    cause=f"test:{n}",
                    created_at=T0,
                )
            )


async def _fleet(client, services):  # type: ignore[no-untyped-def]
    headers, _ = await sign_up(client, services, "reports@example.com")
    van = await add_device(client, headers, '=Van, "1"', "5001")
    car = await add_device(client, headers, "Car", "5002")
    await store(services, van, commute().fixes)
    await store(services, car, Route(T0).park(3600, ignition=True).fixes)  # idling an hour
    await add_events(services, van, ["overspeed", "overspeed", "geofence_exit", "custom_thing"])
    return headers, van, car


async def test_summary_per_device_and_total(client, services):
    headers, van, car = await _fleet(client, services)
    answer = await client.get(URL, headers=headers, params=DAY)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["from"] == "2026-03-02T06:00:00Z"
    by_id = {d["device_id"]: d for d in report["devices"]}
    assert set(by_id) == {van, car}, "every visible device when none is named"
    first = by_id[van]
    assert first["name"] == '=Van, "1"'
    assert first["trips"] == 1
    assert first["distance_m"] == pytest.approx(9000, rel=0.01)
    assert first["driving_s"] == 970
    assert first["idle_s"] == 60 + 50, "engine on before leaving and at the light"
    assert first["max_speed_kmh"] == 36.0
    assert first["events"] == {"overspeed": 2, "geofence_exit": 1, "custom_thing": 1}
    second = by_id[car]
    assert (second["trips"], second["distance_m"], second["idle_s"]) == (0, 0, 3540)
    assert second["events"] == {}
    total = report["total"]
    assert total["distance_m"] == first["distance_m"]
    assert total["idle_s"] == 110 + 3540
    assert total["events"]["overspeed"] == 2
    one = await client.get(URL, headers=headers, params={**DAY, "device_id": car})
    assert [d["device_id"] for d in one.json()["devices"]] == [car]


async def test_summary_as_csv(client, services):
    headers, van, car = await _fleet(client, services)
    answer = await client.get(
        URL, headers=headers, params={**DAY, "format": "csv", "device_id": [van, car]}
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"].startswith('attachment; filename="camtel-summary')
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [r["device_id"] for r in rows] == [van, car, "total"]
    assert rows[0]["device"] == '\'=Van, "1"', "a formula-looking name is defused"
    assert float(rows[0]["distance_m"]) == pytest.approx(9000, rel=0.01)
    assert rows[0]["events_overspeed"] == "2"
    assert rows[0]["events_custom_thing"] == "1", "unknown types get a column too"
    assert rows[0]["events"] == "4"
    assert rows[1]["max_speed_kmh"] == "0.0"
    assert rows[2]["idle_s"] == str(110 + 3540)


async def test_summary_checks_its_input(client, services):
    headers, van, _ = await _fleet(client, services)
    stranger, _ = await sign_up(client, services, "nosy@example.com")
    assert (await client.get(URL, headers=stranger, params={"device_id": van})).status_code == 404
    theirs = await client.get(URL, headers=stranger, params=DAY)
    assert theirs.json()["devices"] == [], "nothing of other organisations"
    assert (await client.get(URL, params=DAY)).status_code == 401
    bad = await client.get(URL, headers=headers, params={**DAY, "format": "xml"})
    assert bad.status_code == 422
    long = {"from": (T0 - timedelta(days=40)).isoformat(), "to": T0.isoformat()}
    assert (await client.get(URL, headers=headers, params=long)).status_code == 422
    wrong = await client.get(URL, headers=headers, params={"device_id": "not-a-uuid"})
    assert wrong.status_code == 422
