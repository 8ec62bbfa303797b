"""Fan-out between the processes of a split deployment over core NATS: cache invalidations
and live updates, each process telling the others what happened in it.

Subjects, under a prefix derived from the bus subject (`<subject>.fanout`, so that separate
deployments on one NATS server do not mix, and never captured by the stream's
`<subject>.<partition>`):

- `<prefix>.changed.device`  {"protocol", "unique_id"}: `Services.device_changed`
- `<prefix>.changed.fences`  {"organization"}: `Services.fences_changed`
- `<prefix>.live.<kind>s`    {"updates": [{"kind", "device", "payload"}, ...]}: what was
  published on the process's LiveHub (positions, events, notifications), batched per turn of
  the event loop, read by processes with a live socket (API nodes) only.

Each process publishes what happens locally (its relays sit in the same listener lists and the
hub's `relays`) and applies what the others publish by calling its *other* local listeners,
or `LiveHub.deliver` (local subscribers only), so nothing is echoed back. Its own messages
come back from NATS too and are skipped by their `Camtel-Origin` header.

Core NATS is at most once, and that is right here: a lost invalidation leaves a cache stale
until its TTL (the registry's, the fence book's), which stays the backstop; a lost live
update is a map marker that moves on the next fix. While NATS is unreachable nothing is
relayed (the client buffers a little and reconnects for ever); nothing here ever blocks the
pipeline or a request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from pydantic_core import from_json, to_json

from camtel.bus.live import LiveHub, LiveUpdate
from camtel.bus.nats import NatsBus

log = logging.getLogger(__name__)

ORIGIN = "Camtel-Origin"
VERSION = 1
#: Live updates per message: a full store batch stays well under NATS' 1 MB payload limit.
BATCH = 500

T = TypeVar("T")
DeviceListener = Callable[[str, str], None]
FenceListener = Callable[[uuid.UUID], None]


def prefix_of(subject: str) -> str:
    """The fan-out subjects' prefix for a bus subject."""
    return f"{subject}.fanout"


class Fanout:
    """One process's side of the fan-out; `start()` it, `stop()` it."""

    def __init__(
        self,
        servers: list[str] | str,
        *,
        prefix: str,
        device_listeners: list[DeviceListener],
        fence_listeners: list[FenceListener],
        live: LiveHub,
        live_viewers: bool = True,
    ) -> None:
        """`live_viewers`: this process has a live socket (an API node) and wants the others'
        live updates; every process relays its own."""
        self.servers = [servers] if isinstance(servers, str) else list(servers)
        self.prefix = prefix
        self.device_listeners = device_listeners
        self.fence_listeners = fence_listeners
        self.live = live
        self.live_viewers = live_viewers
        self.origin = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.counters: Counter[str] = Counter()
        self._nc: Client | None = None
        self._connecting: asyncio.Task[None] | None = None
        # Invalidations waiting to be sent (None: not encodable, counted as not sent).
        self._changes: list[tuple[str, bytes | None]] = []
        self._updates: dict[str, list[LiveUpdate]] = {}  # live subject -> updates
        self._sending: asyncio.Task[None] | None = None

    @classmethod
    def from_url(cls, url: str, **options: Any) -> Fanout:
        """The fan-out beside the bus a `nats://` bus URL names (same servers, its prefix)."""
        bus = NatsBus.from_url(url)  # only parses: nothing connects
        return cls(bus.servers, prefix=prefix_of(bus.subject), **options)

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self, *, wait_s: float = 5.0) -> None:
        """Start relaying, and connect: waits up to `wait_s` for NATS, then lets the
        connection come later (what happens meanwhile is not relayed)."""
        self.device_listeners.append(self.device_changed)
        self.fence_listeners.append(self.fences_changed)
        self.live.relays.append(self.live_published)
        self._connecting = asyncio.create_task(self._connect(), name="fanout-connect")
        try:
            await asyncio.wait_for(asyncio.shield(self._connecting), wait_s)
        except TimeoutError:
            log.warning("fan-out: NATS not reachable yet; caches rely on their TTL meanwhile")
        except Exception as exc:
            log.error("fan-out not connected (%s)", type(exc).__name__)

    async def stop(self) -> None:
        """Stop relaying, send what is queued, close the connection."""
        relays: tuple[tuple[list[Any], Callable[..., None]], ...] = (
            (self.device_listeners, self.device_changed),
            (self.fence_listeners, self.fences_changed),
            (self.live.relays, self.live_published),
        )
        for listeners, relay in relays:
            with contextlib.suppress(ValueError):
                listeners.remove(relay)
        if self._connecting is not None and not self._connecting.done():
            self._connecting.cancel()
        if self._connecting is not None:
            await asyncio.gather(self._connecting, return_exceptions=True)
        if self._sending is not None:
            await asyncio.gather(self._sending, return_exceptions=True)
        nc, self._nc = self._nc, None
        if nc is None:
            return
        try:
            await nc.flush(timeout=2)
        except Exception as exc:
            log.info("fan-out closed without a flush (%s)", type(exc).__name__)
        finally:
            await nc.close()

    async def _connect(self) -> None:
        nc = await nats.connect(  # keeps trying for ever, this first time too
            servers=self.servers,
            name=f"camtel fan-out {self.origin}",
            allow_reconnect=True,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            connect_timeout=2,
            error_cb=_quiet,
        )
        try:
            await nc.subscribe(f"{self.prefix}.changed.device", cb=self._device_message)
            await nc.subscribe(f"{self.prefix}.changed.fences", cb=self._fences_message)
            if self.live_viewers:
                await nc.subscribe(f"{self.prefix}.live.*", cb=self._live_message)
            # So that the server has the subscriptions before start() returns. Twice: nats-py
            # writes a flush's PING ahead of commands still waiting for its flusher task, so
            # the first PONG can come before the SUBs went out; the second one cannot.
            await nc.flush(timeout=5)
            await nc.flush(timeout=5)
        except BaseException:
            await nc.close()
            raise
        self._nc = nc

    # -- what happens here: relays -----------------------------------------------------------

    def device_changed(self, protocol: str, unique_id: str) -> None:
        """Listener: tell the other processes that a device changed."""
        self._changes.append(
            (
                f"{self.prefix}.changed.device",
                _encode({"protocol": protocol, "unique_id": unique_id}),
            )
        )
        self._schedule()

    def fences_changed(self, organization_id: uuid.UUID) -> None:
        """Listener: tell the other processes that an organisation's geofences changed."""
        self._changes.append(
            (f"{self.prefix}.changed.fences", _encode({"organization": organization_id.hex}))
        )
        self._schedule()

    def live_published(self, update: LiveUpdate) -> None:
        """Hub relay: queue a live update for the other processes (sent once per loop turn,
        with whatever else was published in it)."""
        self._updates.setdefault(f"{self.prefix}.live.{update.kind}s", []).append(update)
        self._schedule()

    def _schedule(self) -> None:
        if self._sending is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a synchronous caller): nothing can be sent
            return
        self._sending = loop.create_task(self._send_queued(), name="fanout-send")

    async def _send_queued(self) -> None:
        """Send in order until nothing is queued (what is queued meanwhile comes along)."""
        try:
            while self._changes or self._updates:
                changes, self._changes = self._changes, []
                updates, self._updates = self._updates, {}
                for subject, data in changes:
                    await self._send(subject, data)
                for subject, batch in updates.items():
                    for start in range(0, len(batch), BATCH):
                        data = _encode(
                            {"updates": [_update(u) for u in batch[start : start + BATCH]]}
                        )
                        await self._send(subject, data)
        finally:
            self._sending = None

    async def _send(self, subject: str, data: bytes | None) -> None:
        nc = self._nc
        if nc is None or data is None:
            self.counters["not_sent"] += 1
            return
        try:
            await nc.publish(subject, data, headers={ORIGIN: self.origin})
        except Exception as exc:  # reconnecting with a full buffer, closed...: at most once
            self.counters["not_sent"] += 1
            log.debug("fan-out: %s not sent (%s)", subject, type(exc).__name__)
            return
        self.counters["sent"] += 1

    # -- what happened elsewhere: applied here -----------------------------------------------

    async def _device_message(self, msg: Msg) -> None:
        device = self._read(msg, lambda body: (str(body["protocol"]), str(body["unique_id"])))
        if device is None:
            return
        for listener in list(self.device_listeners):
            if listener != self.device_changed:  # applied here, not sent back
                _call(listener, *device)

    async def _fences_message(self, msg: Msg) -> None:
        organization_id = self._read(msg, lambda body: uuid.UUID(hex=body["organization"]))
        if organization_id is None:
            return
        for listener in list(self.fence_listeners):
            if listener != self.fences_changed:
                _call(listener, organization_id)

    async def _live_message(self, msg: Msg) -> None:
        updates = self._read(msg, _live_updates)
        for update in updates or ():
            self.live.deliver(update)  # local subscribers only: not relayed again

    def _read(self, msg: Msg, parse: Callable[[dict[str, Any]], T]) -> T | None:
        """What another process said, or None for this process's own message or an
        unreadable one (from a newer version, say: logged and skipped)."""
        if (msg.headers or {}).get(ORIGIN) == self.origin:
            self.counters["own"] += 1
            return None
        try:
            body = from_json(msg.data, allow_inf_nan=True)
            if not isinstance(body, dict) or body.get("v") != VERSION:
                raise ValueError("not a version 1 message")
            parsed = parse(body)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            self.counters["unreadable"] += 1
            log.warning("fan-out: unreadable message on %s (%s)", msg.subject, exc)
            return None
        self.counters["received"] += 1
        return parsed


def _live_updates(body: dict[str, Any]) -> list[LiveUpdate]:
    updates = []
    for raw in body["updates"]:
        if not isinstance(raw["payload"], dict):
            raise TypeError("a live update's payload is an object")
        updates.append(LiveUpdate(str(raw["kind"]), uuid.UUID(hex=raw["device"]), raw["payload"]))
    return updates


def _encode(body: dict[str, Any]) -> bytes | None:
    try:
        # "constants": NaN and infinities in position attributes survive the trip.
        return to_json({"v": VERSION, **body}, inf_nan_mode="constants")
    except Exception as exc:
        log.warning("fan-out: message not encodable (%s); not sent", type(exc).__name__)
        return None


def _update(update: LiveUpdate) -> dict[str, Any]:
    return {"kind": update.kind, "device": update.device_id.hex, "payload": update.payload}


def _call(listener: Callable[..., None], *args: Any) -> None:
    try:
        listener(*args)
    except Exception:  # one failing cache does not keep the others stale
        log.exception("fan-out: a listener failed")


async def _quiet(exc: Exception) -> None:
    log.debug("fan-out NATS client: %s", type(exc).__name__)
