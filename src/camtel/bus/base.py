"""What every bus offers: publish keyed by device, receive per partition, order kept per key."""

from __future__ import annotations

import asyncio
import uuid
import zlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime

from camtel.messages import DeviceEvent, Position


@dataclass(slots=True)
class Envelope:
    """One thing a known device said, on its way from a gateway to the pipeline.

    `position` is None for "the device was heard from" (heartbeats, logins): only its
    last-seen time changes. `done` is resolved once the position is durable or decided
    (dropped as a duplicate, impossible...), and failed when it could not be stored; the
    gateway acknowledges the device only after it resolves.
    """

    device_id: uuid.UUID
    position: Position | None
    received_at: datetime
    dedup: int = 0
    done: asyncio.Future[None] | None = None
    #: Events the pipeline decided from this position; stored in the same transaction.
    events: list[DeviceEvent] = field(default_factory=list)

    def settle(self, error: BaseException | None = None) -> None:
        """Resolve `done` (once; later calls are ignored)."""
        if self.done is None or self.done.done():
            return
        if error is None:
            self.done.set_result(None)
        else:
            self.done.set_exception(error)


def partition_of(device_id: uuid.UUID, partitions: int) -> int:
    """The partition that carries every envelope of a device (stable across processes)."""
    return zlib.crc32(device_id.bytes) % partitions


class Bus(ABC):
    """Envelopes of one device arrive in a single partition, in the order they were published."""

    partitions: int
    #: True when `publish` returns only once the envelope is durable (stored by the bus
    #: itself): the gateway may then acknowledge the device without waiting for a worker.
    durable_publish: bool = False

    @abstractmethod
    async def publish(self, envelope: Envelope) -> None:
        """Queue an envelope on its device's partition; waits while the partition is full."""

    @abstractmethod
    async def receive(self, partition: int) -> Envelope:
        """The next envelope of a partition, waiting for one."""

    async def receive_batch(self, partition: int, limit: int) -> list[Envelope]:
        """The next envelopes of a partition in order: at least one (waiting for it), and
        whatever else is already there, up to `limit`."""
        return [await self.receive(partition)]

    @abstractmethod
    def depth(self) -> int:
        """Envelopes published and not yet received (for stats and back-pressure)."""

    async def close(self) -> None:  # noqa: B027 - optional for buses that hold no resources
        """Release connections; the memory bus holds none."""
