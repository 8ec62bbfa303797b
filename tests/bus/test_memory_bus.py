"""The in-memory bus keeps each device's order and spreads devices over partitions."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest

from camtel.bus import Envelope, MemoryBus, from_url
from camtel.bus.base import partition_of

NOW = datetime(2026, 3, 15, tzinfo=UTC)


async def test_order_per_device_is_kept_in_its_partition():
    bus = MemoryBus(partitions=4)
    devices = [uuid.uuid4() for _ in range(20)]
    for n in range(10):
        for device in devices:
            await bus.publish(Envelope(device, None, NOW, dedup=str(n)))
    assert bus.depth() == 200
    seen: dict[uuid.UUID, list[str]] = {}
    for partition in range(4):
        while bus._queues[partition].qsize():
            envelope = await bus.receive(partition)
            assert partition_of(envelope.device_id, 4) == partition
            seen.setdefault(envelope.device_id, []).append(envelope.dedup)
    assert all(order == [str(n) for n in range(10)] for order in seen.values())
    assert len({partition_of(d, 4) for d in devices}) > 1, "devices spread over partitions"


async def test_a_batch_is_what_waits_in_order_and_makes_room_for_publishers():
    bus = MemoryBus(partitions=1, capacity=3)
    device = uuid.uuid4()
    for n in range(3):
        await bus.publish(Envelope(device, None, NOW, dedup=str(n)))
    blocked = asyncio.create_task(bus.publish(Envelope(device, None, NOW, dedup="3")))
    await asyncio.sleep(0)
    assert not blocked.done(), "the partition is full"
    first = await bus.receive_batch(0, limit=2)
    assert [e.dedup for e in first] == ["0", "1"]
    await asyncio.wait_for(blocked, 1)
    rest = await bus.receive_batch(0, limit=10)
    assert [e.dedup for e in rest] == ["2", "3"]
    waiting = asyncio.create_task(bus.receive_batch(0, limit=10))
    await asyncio.sleep(0)
    assert not waiting.done(), "an empty partition waits for the next envelope"
    await bus.publish(Envelope(device, None, NOW, dedup="4"))
    assert [e.dedup for e in await asyncio.wait_for(waiting, 1)] == ["4"]


async def test_a_full_partition_makes_the_publisher_wait():
    bus = MemoryBus(partitions=1, capacity=2)
    device = uuid.uuid4()
    await bus.publish(Envelope(device, None, NOW))
    await bus.publish(Envelope(device, None, NOW))
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(bus.publish(Envelope(device, None, NOW)), 0.05)


async def test_settle_resolves_once():
    envelope = Envelope(uuid.uuid4(), None, NOW, done=asyncio.get_running_loop().create_future())
    envelope.settle()
    envelope.settle(RuntimeError("late"))
    assert envelope.done is not None and envelope.done.result() is None


def test_memory_is_the_default_and_unknown_buses_are_refused():
    assert isinstance(from_url("memory://"), MemoryBus)
    assert not MemoryBus().durable_publish, "settled by the store, not on publish"
    with pytest.raises(ValueError):
        from_url("redis://127.0.0.1:6379")
