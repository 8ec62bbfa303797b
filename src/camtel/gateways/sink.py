"""Where gateways hand over what devices said: the bus, the durability wait, live sessions.

Photos and clips (`MediaChunk`) do not go on the bus: `Sink.media_handler`, when the
composition root sets one (camtel.media.device_media), stores each before `publish` returns,
and its outcome resolves the chunk's envelope like a position's commit, so the device is
acknowledged only once the object is stored and its row committed. Without a handler a
chunk is dropped and counted (`media_dropped`) and acknowledged, as before.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Protocol

from camtel.bus.base import Bus, Envelope
from camtel.db.base import utcnow
from camtel.dedup import dedup_key
from camtel.gateways.names import label
from camtel.gateways.registry import DeviceRef, Registry
from camtel.messages import Command, MediaChunk, Message, Position
from camtel.privacy.access_log import DeviceAccessLog

log = logging.getLogger(__name__)

#: Stores one photo or clip of a known device; returns once it is durable, raises otherwise.
MediaHandler = Callable[[DeviceRef, MediaChunk], Awaitable[None]]


class Live(Protocol):
    """A device connection that can be closed and, for some protocols, sent commands."""

    def close(self) -> None: ...

    async def send_command(self, command: Command) -> int | None: ...


class Sessions:
    """One live connection per device: a device that reconnects takes its session over."""

    def __init__(self) -> None:
        self._live: dict[uuid.UUID, Live] = {}
        self.takeovers = 0

    def claim(self, device_id: uuid.UUID, live: Live) -> None:
        """Make `live` the device's connection, closing the one it had before."""
        previous = self._live.get(device_id)
        self._live[device_id] = live
        if previous is not None and previous is not live:
            self.takeovers += 1
            previous.close()

    def release(self, device_id: uuid.UUID, live: Live) -> None:
        """Forget the connection, unless a newer one has already taken over."""
        if self._live.get(device_id) is live:
            del self._live[device_id]

    def get(self, device_id: uuid.UUID) -> Live | None:
        return self._live.get(device_id)

    def __len__(self) -> int:
        return len(self._live)


class Sink:
    """Publishes a known device's messages on the bus and waits until they are durable."""

    def __init__(
        self,
        bus: Bus,
        registry: Registry,
        *,
        clock: Callable[[], datetime] = utcnow,
        durable_timeout_s: float = 30.0,
    ) -> None:
        self.bus = bus
        self.registry = registry
        self.sessions = Sessions()
        self.clock = clock
        self.durable_timeout_s = durable_timeout_s
        self.counters: Counter[str] = Counter()
        #: Stores device photos and clips (set by the composition root); None drops them.
        self.media_handler: MediaHandler | None = None
        #: Notes device connections (P24; set by the composition root); None notes nothing.
        self.access_log: DeviceAccessLog | None = None

    def connected(
        self, device: DeviceRef, *, peer: object, model: str = "", throttle: bool = False
    ) -> None:
        """Note in the access log that a device connected; never waits, never raises."""
        if self.access_log is not None:
            self.access_log.connected(
                device_id=device.id,
                protocol=device.protocol,
                peer=peer,
                model=model,
                throttle=throttle,
            )

    async def publish(self, device: DeviceRef, messages: Iterable[Message]) -> list[Envelope]:
        """Queue positions (and a "heard from" when there are none); do not wait for them.

        Media chunks are stored here, one after the other (a connection sending photos is
        slowed to the store's pace); each gets an envelope that is not on the bus, whose
        `done` holds the outcome, so that acknowledgements treat it like a position."""
        messages = list(messages)
        now = self.clock()
        loop = asyncio.get_running_loop()
        positions = [m for m in messages if isinstance(m, Position)]
        if positions:
            # The connection resolved its device at login; consent can change since, so ask
            # the registry's (cached, refreshed) answer.
            device = await self.registry.resolve(device.protocol, device.unique_id) or device
        if positions and not device.collect_location:
            # A minor without a guardian's consent (or an erasure under way): acknowledged, so
            # the device does not resend forever, and never stored.
            self.counters["positions_not_collected"] += len(positions)
            positions = []
        envelopes = [
            Envelope(device.id, m, now, dedup_key(m), loop.create_future()) for m in positions
        ]
        if not envelopes:
            envelopes = [Envelope(device.id, None, now)]
        if self.bus.durable_publish:
            await self._publish_durably(device, envelopes)
        else:
            for envelope in envelopes:
                await self.bus.publish(envelope)
        self.counters["positions_published"] += sum(e.position is not None for e in envelopes)
        for message in messages:
            if isinstance(message, MediaChunk):
                envelopes.append(await self._media(device, message, now))
        return envelopes

    async def _publish_durably(self, device: DeviceRef, envelopes: list[Envelope]) -> None:
        """On a bus that stores what it accepts (NATS JetStream), an envelope is durable once
        `publish` returns, before any worker has seen it: settle it then. After a failure the
        rest are not sent (a later fix must not overtake one the device will send again) and
        fail too, so the device is not acknowledged."""
        for n, envelope in enumerate(envelopes):
            try:
                await self.bus.publish(envelope)
            except Exception as exc:  # the bus is away: the device resends later
                self.counters["not_published"] += len(envelopes) - n
                log.warning(
                    "bus did not store a message of %s (%s); not acknowledged",
                    label(device.unique_id),
                    type(exc).__name__,
                )
                for unsent in envelopes[n:]:
                    unsent.settle(exc)
                return
            envelope.settle()

    async def _media(self, device: DeviceRef, chunk: MediaChunk, now: datetime) -> Envelope:
        envelope = Envelope(device.id, None, now, done=asyncio.get_running_loop().create_future())
        if self.media_handler is None:
            self.counters["media_dropped"] += 1
            envelope.settle()
            return envelope
        try:
            await asyncio.wait_for(self.media_handler(device, chunk), self.durable_timeout_s)
        except Exception as exc:
            self.counters["media_failed"] += 1
            log.warning(
                "media from %s not stored (%s); not acknowledged",
                label(device.unique_id),
                type(exc).__name__,
            )
            envelope.settle(exc)
            return envelope
        self.counters["media_stored"] += 1
        envelope.settle()
        return envelope

    async def deliver(self, device: DeviceRef, messages: Iterable[Message]) -> bool:
        """Publish and wait until every position is durable (or decided); False otherwise,
        and then the device must not be acknowledged: it will send them again."""
        envelopes = await self.publish(device, messages)
        futures = [e.done for e in envelopes if e.done is not None]
        if not futures:
            return True
        finished, pending = await asyncio.wait(futures, timeout=self.durable_timeout_s)
        failed = [f for f in finished if f.exception() is not None]
        if pending or failed:
            self.counters["not_durable"] += len(futures)
            return False
        self.counters["durable"] += len(futures)
        return True
