"""The worker and the store on both databases: idempotent batches, order, failing stages."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from camtel.bus import Envelope, MemoryBus
from camtel.dedup import dedup_key
from camtel.devices.models import Device
from camtel.devices.models import Position as Row
from camtel.messages import Position
from camtel.pipeline.stages import STAGES
from camtel.pipeline.store import Store, StoreError
from camtel.pipeline.worker import Worker
from helpers.ingest import make_device

T0 = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


def fix(device: str, seconds: int, lat: float = 52.0) -> Position:
    return Position("osmand", device, T0 + timedelta(seconds=seconds), lat, 13.4, speed_kmh=30.0)


def envelope(device_id: uuid.UUID, position: Position, received: datetime = T0) -> Envelope:
    return Envelope(device_id, position, received, dedup_key(position),
                    asyncio.get_running_loop().create_future())


async def rows(services, device_id):  # type: ignore[no-untyped-def]
    async with services.database.session() as db:
        return list(await db.scalars(
            select(Row).where(Row.device_id == device_id).order_by(Row.time)))


async def test_batch_write_is_idempotent_and_moves_last_seen(services):
    device_id = await make_device(services, "osmand", "van")
    store = Store(services.database, batch_size=10)
    heard: list[int] = []
    store.listeners.append(lambda stored: heard.append(len(stored)))
    store.listeners.append(lambda stored: 1 / 0)  # a broken listener changes nothing
    batch = [envelope(device_id, fix("van", n, 52 + n / 100), T0 + timedelta(seconds=n))
             for n in range(5)]
    await store.write(batch)
    assert heard == [5] and store.counters["listener_failures"] == 1
    assert all(e.done is not None and e.done.result() is None for e in batch)
    again = [envelope(device_id, e.position, T0 - timedelta(hours=1)) for e in batch]
    await store.write(again)  # a crash-and-resend: the unique key makes it a no-op
    stored = await rows(services, device_id)
    assert [r.latitude for r in stored] == [52 + n / 100 for n in range(5)]
    assert stored[0].time == T0 and stored[0].time.tzinfo is not None
    async with services.database.session() as db:
        device = await db.get(Device, device_id)
    assert device is not None and device.last_seen_at == T0 + timedelta(seconds=4), (
        "last_seen_at only moves forward")


async def test_one_bad_row_does_not_fail_the_batch(services):
    device_id = await make_device(services, "osmand", "van")
    store = Store(services.database, batch_size=10)
    good = envelope(device_id, fix("van", 1))
    orphan = envelope(uuid.uuid4(), fix("ghost", 1))  # no such device: foreign key fails
    await store.write([good, orphan])
    assert good.done is not None and good.done.result() is None
    assert orphan.done is not None and isinstance(orphan.done.exception(), StoreError)
    assert store.counters["write_failures"] == 1
    assert len(await rows(services, device_id)) == 1


async def test_worker_keeps_each_devices_order_and_drops_duplicates(services):
    ids = [await make_device(services, "osmand", f"van{n}") for n in range(3)]
    bus = MemoryBus(partitions=2)
    worker = Worker(bus, Store(services.database, batch_size=7), clock=lambda: T0)
    worker.start()
    sent = []
    for step in range(20):
        for n, device_id in enumerate(ids):
            sent.append(envelope(device_id, fix(f"van{n}", step, 52 + step / 1000)))
            await bus.publish(sent[-1])
    await asyncio.wait([e.done for e in sent if e.done], timeout=10)
    repeat = envelope(ids[0], fix("van0", 3, 52 + 3 / 1000))
    await bus.publish(repeat)
    assert repeat.done is not None
    await asyncio.wait_for(repeat.done, 5)
    await worker.stop()
    assert worker.counters["dropped:duplicate"] == 1
    for device_id in ids:
        stored = await rows(services, device_id)
        assert len(stored) == 20
        totals = [r.attributes["total_distance_m"] for r in stored]
        assert totals == sorted(totals) and totals[-1] > 0, "motion saw them in order"


async def test_late_fix_is_stored_without_adding_distance(services):
    device_id = await make_device(services, "osmand", "van")
    bus = MemoryBus(partitions=1)
    worker = Worker(bus, Store(services.database), clock=lambda: T0)
    worker.start()
    for seconds, lat in [(0, 52.0), (60, 52.01), (30, 52.005)]:
        item = envelope(device_id, fix("van", seconds, lat))
        await bus.publish(item)
        assert item.done is not None
        await asyncio.wait_for(item.done, 5)
    await worker.stop()
    stored = await rows(services, device_id)
    assert [r.latitude for r in stored] == [52.0, 52.005, 52.01]
    assert "total_distance_m" not in stored[1].attributes
    assert worker.counters["late"] == 1


async def test_a_failing_stage_is_counted_and_the_position_still_stored(services, caplog):
    device_id = await make_device(services, "osmand", "van")

    def broken(envelope, state, now):  # type: ignore[no-untyped-def]
        raise RuntimeError("bug")

    bus = MemoryBus(partitions=1)
    stages = (STAGES[0], ("broken", broken), STAGES[1])
    worker = Worker(bus, Store(services.database), stages=stages, clock=lambda: T0)
    worker.start()
    items = [envelope(device_id, fix("van", n)) for n in range(3)]
    for item in items:
        await bus.publish(item)
    await asyncio.wait_for(asyncio.gather(*[i.done for i in items if i.done]), 5)
    await worker.stop()
    assert worker.counters["stage_failed:broken"] == 3
    assert len(await rows(services, device_id)) == 3
    assert "pipeline stage broken failed" in caplog.text


async def test_impossible_fix_is_settled_without_a_write(services):
    device_id = await make_device(services, "osmand", "van")
    bus = MemoryBus(partitions=1)
    worker = Worker(bus, Store(services.database), clock=lambda: T0)
    worker.start()
    item = envelope(device_id, replace(fix("van", 0), time=T0 + timedelta(days=3)))
    await bus.publish(item)
    assert item.done is not None
    await asyncio.wait_for(item.done, 5)
    await worker.stop()
    assert worker.counters["dropped:time_in_future"] == 1
    async with services.database.session() as db:
        assert await db.scalar(select(func.count()).select_from(Row)) == 0
