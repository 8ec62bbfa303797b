"""Live updates fanned out to connected clients: never blocks the publisher, drops when slow."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class LiveUpdate:
    """Something a viewer of a device should see now: a stored position, an event."""

    kind: str  # "position" | "event" | "device"
    device_id: uuid.UUID
    payload: dict[str, Any]


@dataclass(eq=False, slots=True)
class Subscription:
    """One client's queue. A slow client loses its oldest updates, never the pipeline's time."""

    queue: asyncio.Queue[LiveUpdate]
    dropped: int = 0
    _hub: LiveHub | None = field(default=None, repr=False)

    async def __aiter__(self) -> AsyncIterator[LiveUpdate]:
        while True:
            yield await self.queue.get()

    def close(self) -> None:
        if self._hub is not None:
            self._hub.unsubscribe(self)


class LiveHub:
    """In-process fan-out of live updates; in a split deployment camtel.bus.fanout relays
    them between processes over NATS."""

    def __init__(self, *, queue_size: int = 1000) -> None:
        self.queue_size = queue_size
        self._subscribers: set[Subscription] = set()
        self.published = 0
        #: Called with every update published here, so that other processes' hubs get it
        #: too (camtel.bus.fanout in a split deployment; empty in one process).
        self.relays: list[Callable[[LiveUpdate], None]] = []

    def subscribe(self) -> Subscription:
        subscription = Subscription(asyncio.Queue(maxsize=self.queue_size), _hub=self)
        self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def publish(self, update: LiveUpdate) -> None:
        """Hand an update to every subscriber without waiting, and to the relays."""
        self.deliver(update)
        for relay in self.relays:
            relay(update)

    def deliver(self, update: LiveUpdate) -> None:
        """Hand an update to this process's subscribers only (one relayed from elsewhere)."""
        self.published += 1
        for subscription in self._subscribers:
            queue = subscription.queue
            if queue.full():
                queue.get_nowait()
                subscription.dropped += 1
            queue.put_nowait(update)
