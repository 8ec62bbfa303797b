"""The sink on a bus that stores what it accepts: settled on publish, failed when publish
fails (and nothing after it is sent); on the memory bus, unchanged: settled by the store."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from camtel.bus import Envelope, MemoryBus
from camtel.bus.base import Bus
from camtel.gateways.registry import DeviceRef
from camtel.gateways.sink import Sink
from camtel.messages import Heartbeat, Position

DEVICE = DeviceRef(uuid.uuid4(), "osmand", "4711")


class Registry:
    async def resolve(self, protocol: str, unique_id: str) -> DeviceRef:
        return DEVICE


class DurableBus(Bus):
    """Stores on publish; refuses from the `fail_at`-th publish on (NATS away)."""

    durable_publish = True
    partitions = 1

    def __init__(self, fail_at: int | None = None) -> None:
        self.fail_at = fail_at
        self.stored: list[Envelope] = []

    async def publish(self, envelope: Envelope) -> None:
        if self.fail_at is not None and len(self.stored) >= self.fail_at:
            raise TimeoutError("no publish ack")
        self.stored.append(envelope)

    async def receive(self, partition: int) -> Envelope:
        raise NotImplementedError

    def depth(self) -> int:
        return 0


def reports(count: int) -> list[Position]:
    return [
        Position("osmand", "4711", datetime(2026, 3, 15, 8, n, tzinfo=UTC), 52.5, 13.4 + n / 100)
        for n in range(count)
    ]


async def test_positions_are_durable_once_published() -> None:
    bus = DurableBus()
    sink = Sink(bus, Registry())  # type: ignore[arg-type]
    assert await asyncio.wait_for(sink.deliver(DEVICE, reports(3)), 1)
    assert len(bus.stored) == 3 and sink.counters["durable"] == 3
    assert await sink.deliver(DEVICE, [Heartbeat("osmand", "4711")])
    assert bus.stored[-1].position is None, "heard from: on the bus for the workers"


async def test_a_failed_publish_fails_it_and_everything_after() -> None:
    bus = DurableBus(fail_at=1)
    sink = Sink(bus, Registry())  # type: ignore[arg-type]
    envelopes = await sink.publish(DEVICE, reports(3))
    assert len(bus.stored) == 1, "nothing after the failure is sent"
    assert envelopes[0].done is not None and envelopes[0].done.result() is None
    for envelope in envelopes[1:]:
        assert envelope.done is not None and isinstance(envelope.done.exception(), TimeoutError)
    assert sink.counters["not_published"] == 2
    assert not await sink.deliver(DEVICE, reports(2)), "the device is not acknowledged"


async def test_the_memory_bus_still_waits_for_the_store() -> None:
    bus = MemoryBus(partitions=1)
    sink = Sink(bus, Registry())  # type: ignore[arg-type]
    envelopes = await sink.publish(DEVICE, reports(2))
    assert all(e.done is not None and not e.done.done() for e in envelopes)
    assert bus.depth() == 2
