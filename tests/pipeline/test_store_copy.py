"""On PostgreSQL the store writes positions by binary COPY: what is read back is exactly what
was given (types, JSON, microseconds, any zone in), a resend is a no-op, and a transaction that
failed after the copy does not break the next batch on the same connection."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from camtel.accounts.models import Organization
from camtel.devices.models import Device, Position
from camtel.devices.position_attributes import pack
from camtel.pipeline.store import Store

ON_POSTGRES = pytest.mark.parametrize("engine", ["postgresql"], indirect=True)

EAST, WEST = timezone(timedelta(hours=8)), timezone(timedelta(hours=-3, minutes=-30))
#: Fixes that differ in every way the copy could get wrong: zones and microseconds, floats
#: given as integers, missing values, the extremes of a 64-bit key, attributes that are typed
#: columns (True is not 1), free-form JSON with text beyond Latin-1, nested lists.
FIXES = [
    (datetime(2026, 12, 1, 8, 0, 0, 1, tzinfo=EAST), 22.5, 114.1, True, 45.3, 12.0, 0,
     {"alarm_flags": 0, "status_flags": 0x000C0003, "odometer_m": 123400, "satellites": 12,
      "motion": True, "distance_m": 12.5, "total_distance_m": 1034.2}),
    (datetime(2026, 12, 1, 0, 0, 0, 1, tzinfo=UTC), -33.9, 151.2, False, None, None,
     -(2**63), {"ignition": False, "rssi": -71, "alarms": ["sos", "overspeed"]}),
    (datetime(1971, 1, 1, tzinfo=WEST), 0.0, 0.0, True, 0, -5, 2**63 - 1,
     {"note": "Straße ✓ 路", "load": [1, [2, "drei"]], "battery_level": 87.5}),
    (datetime(2099, 1, 1, 23, 59, 59, 999999, tzinfo=UTC), 90.0, -180.0, True, 1e6, 8848.9, 7,
     {"satellites": True, "odometer_m": 1.5, "charging": None}),
    (datetime(2026, 12, 1, 8, 0, 0, 1, tzinfo=EAST), 1.0, 2.0, True, None, None, 1, {}),
]


async def _device(services) -> uuid.UUID:  # type: ignore[no-untyped-def]
    async with services.database.session() as db:
        org = Organization(name="Fleet")
        db.add(org)
        await db.flush()
        device = Device(organization_id=org.id, name="Van", unique_id=uuid.uuid4().hex[:12],
                        protocol="jt808")
        db.add(device)
        await db.flush()
        return device.id


def _row(device: uuid.UUID, fix: tuple) -> tuple:  # type: ignore[type-arg]
    at, latitude, longitude, valid, speed, altitude, dedup, attrs = fix
    return (device, at, dedup, at, latitude, longitude, valid, speed, 90.0, altitude, None,
            "gps", *pack(attrs))


@ON_POSTGRES
async def test_what_is_copied_is_what_is_read_back(services) -> None:
    store = Store(services.database)
    device = await _device(services)
    rows = [_row(device, fix) for fix in FIXES]
    async with services.database.engine.begin() as db:
        await store._insert_positions(db, rows)
    async with services.database.engine.begin() as db:  # a resend changes nothing
        await store._insert_positions(db, rows[::-1])
    async with services.database.session() as db:
        stored = (await db.scalars(
            select(Position).where(Position.device_id == device)
            .order_by(Position.time, Position.dedup))).all()
    expected = sorted(FIXES, key=lambda fix: (fix[0], fix[6]))
    assert [(p.time, p.dedup) for p in stored] == [(f[0], f[6]) for f in expected]
    assert [(p.latitude, p.longitude, p.valid, p.speed_kmh, p.altitude) for p in stored] == [
        (f[1], f[2], f[3], f[4], f[5]) for f in expected]
    assert [p.attributes for p in stored] == [f[7] for f in expected]
    assert [type(p.attributes.get("satellites")) for p in stored] == [
        type(f[7].get("satellites")) for f in expected]


@ON_POSTGRES
async def test_a_transaction_failing_after_the_copy_leaves_the_next_batch_whole(services) -> None:
    store = Store(services.database)
    device = await _device(services)
    at = datetime(2026, 12, 1, tzinfo=UTC)
    first, second = _row(device, (at, 1.0, 2.0, True, None, None, 1, {})), _row(
        device, (at, 1.0, 2.0, True, None, None, 2, {"note": "zwei"}))
    with pytest.raises(RuntimeError):
        async with services.database.engine.begin() as db:
            await store._insert_positions(db, [first])
            raise RuntimeError("the events write failed")
    async with services.database.engine.begin() as db:
        await store._insert_positions(db, [second])
    async with services.database.session() as db:
        kept = (await db.execute(select(Position.dedup, Position.extra)
                                 .where(Position.device_id == device))).all()
        staged = await db.scalar(select(func.count()).select_from(Position))
    assert kept == [(2, {"note": "zwei"})] and staged == 1
