"""GET /api/v1/positions/latest: the newest fix of every visible device, one each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from camtel.devices import latest
from camtel.devices.models import Position
from helpers.accounts import sign_up


async def _device(client, headers, name: str) -> str:  # type: ignore[no-untyped-def]
    made = await client.post(
        "/api/v1/devices",
        headers=headers,
        json={"name": name, "unique_id": name, "protocol": "osmand"},
    )
    assert made.status_code == 201, made.text
    return made.json()["id"]


async def test_the_newest_fix_of_each_device_and_nothing_of_others(client, services):
    import uuid

    ana, _ = await sign_up(client, services, "ana@example.com")
    bob, _ = await sign_up(client, services, "bob@example.com", phone="+4915123456780")
    first, second = await _device(client, ana, "ana-1"), await _device(client, ana, "ana-2")
    quiet = await _device(client, ana, "ana-3")
    foreign = await _device(client, bob, "bob-1")
    base = datetime(2026, 3, 1, 8, tzinfo=UTC)
    async with services.database.session() as db:
        for device, minutes in ((first, (0, 5, 3)), (second, (1,)), (foreign, (9,))):
            for m in minutes:
                db.add(Position(device_id=uuid.UUID(device), time=base + timedelta(minutes=m),
                                server_time=base, latitude=50 + m / 100, longitude=8.0,
                                speed_kmh=float(m), attributes={"m": m}))
        await latest.rebuild(db)  # written outside the store: kept ready as the store does
    answer = await client.get("/api/v1/positions/latest", headers=ana)
    assert answer.status_code == 200, answer.text
    got = {row["device_id"]: row for row in answer.json()}
    assert set(got) == {first, second}, "a device without fixes and another's device are absent"
    assert got[first]["time"].startswith("2026-03-01T08:05") and got[first]["latitude"] == 50.05
    assert got[second]["attributes"] == {"m": 1}
    assert quiet not in got
    assert (await client.get("/api/v1/positions/latest")).status_code == 401
