"""The pipeline worker over the NATS bus: what a gateway published is stored once, in order,
and acknowledged on the bus only after the commit; a stopping worker leaves nothing held."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from camtel.devices.models import Position as Row
from camtel.gateways.registry import DeviceRef
from camtel.gateways.sink import Sink
from camtel.messages import Position
from camtel.pipeline.store import Store
from camtel.pipeline.worker import Worker
from helpers.ingest import make_device
from helpers.nats import BusFactory

T0 = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


async def test_a_worker_stores_what_the_gateway_published_once(services, make_bus: BusFactory):  # type: ignore[no-untyped-def]
    device_id = await make_device(services, "osmand", "van")
    device = DeviceRef(device_id, "osmand", "van")

    class Registry:
        async def resolve(self, protocol: str, unique_id: str) -> DeviceRef:
            return device

    gateway_bus, worker_bus = make_bus(partitions=2), make_bus(partitions=2)
    sink = Sink(gateway_bus, Registry())  # type: ignore[arg-type]
    fixes = [
        Position("osmand", "van", T0 + timedelta(seconds=10 * n), 52 + n / 100, 13.4)
        for n in range(20)
    ]
    for position in fixes:
        assert await sink.deliver(device, [position])
    assert await sink.deliver(device, fixes[:5]), "a resend is acknowledged"
    worker = Worker(worker_bus, Store(services.database, batch_size=50))
    worker.start()
    try:
        for _ in range(200):
            async with services.database.session() as db:
                stored = list(
                    await db.scalars(
                        select(Row).where(Row.device_id == device_id).order_by(Row.time)
                    )
                )
            if len(stored) >= 20 and not await worker_bus.backlog():
                break
            await asyncio.sleep(0.05)
    finally:
        await worker.stop()
        await worker_bus.close()
    assert [r.latitude for r in stored] == [52 + n / 100 for n in range(20)], "once, in order"
    assert worker_bus.depth() == 0
