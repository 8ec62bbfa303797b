"""The in-process bus: one bounded FIFO queue per partition, partitioned by device."""

from __future__ import annotations

import asyncio

from camtel.bus.base import Bus, Envelope, partition_of


class MemoryBus(Bus):
    """Bounded queues: a full partition makes publishers wait (back-pressure to the devices)."""

    def __init__(self, *, partitions: int = 8, capacity: int = 10_000) -> None:
        if partitions < 1:
            raise ValueError("a bus needs at least one partition")
        self.partitions = partitions
        self._queues: list[asyncio.Queue[Envelope]] = [
            asyncio.Queue(maxsize=capacity) for _ in range(partitions)
        ]

    async def publish(self, envelope: Envelope) -> None:
        await self._queues[partition_of(envelope.device_id, self.partitions)].put(envelope)

    async def receive(self, partition: int) -> Envelope:
        return await self._queues[partition].get()

    async def receive_batch(self, partition: int, limit: int) -> list[Envelope]:
        queue = self._queues[partition]
        batch = [await queue.get()]
        # What queued meanwhile comes along: one wake-up of the worker for many envelopes.
        while len(batch) < limit and not queue.empty():
            batch.append(queue.get_nowait())
        return batch

    def depth(self) -> int:
        return sum(queue.qsize() for queue in self._queues)
