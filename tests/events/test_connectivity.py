"""The online/offline check on a real database: one event per change, repeated rounds no-op."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from camtel.devices.models import Device
from camtel.events.models import Event
from camtel.events.online import check_connectivity
from helpers.ingest import make_device

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SILENCE = timedelta(minutes=10)


async def _seen(services, device_id, at):  # type: ignore[no-untyped-def]
    async with services.database.session() as db:
        await db.execute(update(Device).where(Device.id == device_id).values(last_seen_at=at))


async def _types(services, device_id):  # type: ignore[no-untyped-def]
    async with services.database.session() as db:
        return list(await db.scalars(
            select(Event.type).where(Event.device_id == device_id).order_by(Event.time)))


async def test_online_offline_online(services):
    device_id = await make_device(services, "osmand", "net-1")
    never = await make_device(services, "osmand", "net-2")
    await _seen(services, device_id, NOW - timedelta(minutes=1))
    made = await check_connectivity(services.database, now=NOW, silence=SILENCE)
    assert [e.type for e in made] == ["device_online"]
    assert await check_connectivity(services.database, now=NOW, silence=SILENCE) == []

    later = NOW + timedelta(minutes=30)
    made = await check_connectivity(services.database, now=later, silence=SILENCE)
    assert [e.type for e in made] == ["device_offline"]
    assert made[0].time == NOW - timedelta(minutes=1) + SILENCE
    assert await check_connectivity(services.database, now=later, silence=SILENCE) == []

    await _seen(services, device_id, later)
    made = await check_connectivity(services.database, now=later, silence=SILENCE)
    assert [e.type for e in made] == ["device_online"]
    assert await _types(services, device_id) == ["device_online", "device_offline",
                                                  "device_online"]
    assert await _types(services, never) == []
