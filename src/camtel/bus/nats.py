"""The bus on NATS JetStream: durable on publish, each partition pulled by one worker at a time.

Stream and subjects. One stream (`CAMTEL_POSITIONS` unless the URL names another) holds
subjects `camtel.positions.<partition>`, partition = `partition_of(device_id, partitions)`:
a device's messages sit in one partition, in publish order. File storage, work-queue
retention (a message is removed once a worker acknowledged it), `discard=new` (when the
limits are reached, publishing fails and gateways stop acknowledging: devices keep their
reports instead of the stream dropping acknowledged ones) and a max age of 7 days as a
backstop. Every process must use the same number of partitions. `publish` returns once
JetStream has stored the message (its publish ack), so the bus is `durable_publish` and
the gateway acknowledges the device then. Each position carries a `Nats-Msg-Id` made of
(device, fix time, dedup): a re-publish after a timeout is dropped by the stream's
duplicate window (2 minutes), and the database's idempotent insert catches later copies.

One worker per partition. Each partition has its own durable pull consumer (`partition-<n>`,
`ack_policy=explicit`, `max_ack_pending` bounding what one worker holds). Several processes
pulling from one durable would interleave a partition's messages, and `max_ack_pending=1`
would cost a database commit per message; so partitions are *assigned*: a worker pulls a
partition only while it holds that partition's lease, a key in the JetStream key-value
bucket `<stream>_leases` (created only if absent, renewed every `lease_ttl/4` with a
compare-and-set on its revision, expiring with the bucket's TTL when its holder dies).
Workers register in the same bucket (`w.<id>`), and each holds at most its fair share,
ceil(partitions / workers): a worker that joins picks up what the others give back, a
partition being given back only when everything pulled from it is acknowledged.

A killed worker. What it pulled and did not acknowledge is redelivered after `ack_wait`.
Its leases outlive that: `lease_ttl` is at least 4/3 x (ack_wait + fetch_wait + 1 s), so
when another worker takes a partition over, the dead one's messages are due again, and
JetStream redelivers due messages before newer ones: order is kept. A worker that closes
cleanly naks (without delay) what it still holds, and hands its leases over at once when
nothing of the partition is pending, otherwise lets them expire, for the same reason. A
worker whose renewals fail stops pulling before its lease can have expired.

Settling. `receive_batch` gives each envelope a `done` future: success acks its message,
failure naks it with a delay growing with its deliveries (up to a minute), so a failed
database write is retried; the retried message may then follow later ones of its device
(the positions table is keyed by fix time, and inserts are idempotent).

`depth()` is *local*: envelopes this process received and has not settled (what a stopping
worker must finish). `backlog()` asks the consumers for what waits in the stream.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import re
import socket
import uuid
from collections import Counter
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DiscardPolicy,
    KeyValueConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import BadRequestError, KeyWrongLastSequenceError, NotFoundError
from nats.js.kv import KeyValue

from camtel.bus import wire
from camtel.bus.base import Bus, Envelope, partition_of

log = logging.getLogger(__name__)

DEFAULT_STREAM = "CAMTEL_POSITIONS"
DEFAULT_SUBJECT = "camtel.positions"
_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
_RETRY_S = 0.5  # after a NATS error, before trying again
_MAX_NAK_DELAY_S = 60.0


@dataclass(slots=True)
class _Lease:
    revision: int
    renewed_at: float  # loop time at which the last successful renewal was sent


class NatsBus(Bus):
    """Envelopes in a JetStream stream; see the module docstring for the guarantees."""

    durable_publish = True

    def __init__(
        self,
        servers: list[str] | str = "nats://127.0.0.1:4222",
        *,
        stream: str = DEFAULT_STREAM,
        subject: str = DEFAULT_SUBJECT,
        partitions: int = 8,
        ack_wait_s: float = 30.0,
        fetch_wait_s: float = 1.0,
        lease_ttl_s: float | None = None,
        max_ack_pending: int = 2000,
        nak_delay_s: float = 1.0,
        publish_timeout_s: float = 5.0,
        max_age_s: float = 7 * 86_400,
        max_bytes: int = -1,
        replicas: int = 1,
    ) -> None:
        if partitions < 1:
            raise ValueError("a bus needs at least one partition")
        if not _NAME.match(stream):
            raise ValueError(f"stream name {stream!r}: letters, digits, - and _ only")
        shortest = 4 / 3 * (ack_wait_s + fetch_wait_s + 1.0)
        if lease_ttl_s is not None and lease_ttl_s < shortest:
            raise ValueError(f"lease_ttl must be at least {shortest:.1f}s with this ack_wait")
        self.servers = [servers] if isinstance(servers, str) else list(servers)
        self.stream = stream
        self.subject = subject
        self.partitions = partitions
        self.ack_wait_s = ack_wait_s
        self.fetch_wait_s = fetch_wait_s
        self.lease_ttl_s = lease_ttl_s or math.ceil(shortest)
        self.max_ack_pending = max_ack_pending
        self.nak_delay_s = nak_delay_s
        self.publish_timeout_s = publish_timeout_s
        self.max_age_s = max_age_s
        self.max_bytes = max_bytes
        self.replicas = replicas
        self.worker_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.counters: Counter[str] = Counter()
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._kv: KeyValue | None = None
        self._connecting = asyncio.Lock()
        self._subs: dict[int, JetStreamContext.PullSubscription] = {}
        self._leases: dict[int, _Lease] = {}
        self._claiming = 0
        self._members = 1
        self._keeper: asyncio.Task[None] | None = None
        self._held: dict[asyncio.Future[None], tuple[int, Msg]] = {}
        self._inflight = [0] * partitions
        self._tasks: set[asyncio.Task[None]] = set()

    @classmethod
    def from_url(cls, url: str, *, partitions: int = 8) -> NatsBus:
        """`nats://host:4222[,host2:4222][/STREAM][?subject=..&ack_wait=..&lease_ttl=..
        &fetch_wait=..&max_ack_pending=..&max_age=..&max_bytes=..&replicas=..]`."""
        parts = urlsplit(url)
        hosts = parts.netloc.split(",")
        servers = [f"{parts.scheme}://{host}" for host in hosts if host]
        options: dict[str, Any] = {}
        for key, value in parse_qsl(parts.query, strict_parsing=bool(parts.query)):
            if key == "subject":
                options[key] = value
            elif key in ("ack_wait", "lease_ttl", "fetch_wait", "max_age"):
                options[f"{key}_s"] = float(value)
            elif key in ("max_ack_pending", "max_bytes", "replicas"):
                options[key] = int(value)
            else:
                raise ValueError(f"unknown NATS bus option {key!r}")
        stream = parts.path.strip("/") or DEFAULT_STREAM
        return cls(
            servers or ["nats://127.0.0.1:4222"], stream=stream, partitions=partitions, **options
        )

    # -- connection --------------------------------------------------------------------------

    async def connect(self) -> None:
        """Connect and create (or update) the stream; later calls return at once."""
        if self._js is not None:
            return
        async with self._connecting:
            if self._js is not None:
                return
            # Once connected the client reconnects for ever (buffering what is published
            # meanwhile); the first connection is bounded, so that a publish fails instead.
            nc = await asyncio.wait_for(
                nats.connect(
                    servers=self.servers,
                    name=f"camtel {self.worker_id}",
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    connect_timeout=2,
                    error_cb=_quiet_error,
                    disconnected_cb=self._disconnected,
                    reconnected_cb=_reconnected,
                ),
                self.publish_timeout_s,
            )
            js = nc.jetstream()
            try:
                await self._ensure_stream(js)
            except BaseException:
                await nc.close()
                raise
            self._nc, self._js = nc, js

    async def _ensure_stream(self, js: JetStreamContext) -> None:
        config = StreamConfig(
            name=self.stream,
            subjects=[f"{self.subject}.*"],
            retention=RetentionPolicy.WORK_QUEUE,
            storage=StorageType.FILE,
            discard=DiscardPolicy.NEW,
            max_age=self.max_age_s,
            max_bytes=self.max_bytes,
            duplicate_window=120.0,
            num_replicas=self.replicas,
        )
        try:
            await js.update_stream(config)
        except NotFoundError:
            await js.add_stream(config)

    async def close(self) -> None:
        """Give back what is held (nak), hand leases over, close the connection."""
        if self._keeper is not None:
            self._keeper.cancel()
            await asyncio.gather(self._keeper, return_exceptions=True)
            self._keeper = None
        nc, kv = self._nc, self._kv
        if nc is None:
            return
        try:
            held, self._held = self._held, {}
            for partition, msg in held.values():
                self._inflight[partition] -= 1
                await msg.nak()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await nc.flush(timeout=2)
            for partition, lease in list(self._leases.items()):
                if kv is not None and await self._settled_on_server(partition):
                    await kv.delete(f"p{partition}", last=lease.revision)
            if kv is not None:
                await kv.delete(f"w.{self.worker_id}")
        except Exception as exc:  # leases then expire on their own
            log.warning("NATS bus closed uncleanly (%s)", type(exc).__name__)
        finally:
            self._leases.clear()
            self._subs.clear()
            self._nc = self._js = self._kv = None
            # Not drain(): a fetch cancelled on its way leaves messages in its subscription
            # that nobody reads, and draining would wait for them. They are not lost: they
            # are pending on the server, due again after ack_wait (and the lease lasts).
            await nc.close()

    async def _disconnected(self) -> None:
        if self._nc is not None:  # not when closing
            log.warning("NATS disconnected; reconnecting")

    # -- publishing --------------------------------------------------------------------------

    async def publish(self, envelope: Envelope) -> None:
        """Store the envelope in its partition; returns once JetStream acknowledged it."""
        await self.connect()
        assert self._js is not None
        msg_id = wire.message_id(envelope)
        headers = {"Nats-Msg-Id": msg_id} if msg_id is not None else None
        subject = f"{self.subject}.{partition_of(envelope.device_id, self.partitions)}"
        data = wire.encode(envelope)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.publish_timeout_s
        while True:
            left = deadline - loop.time()
            try:
                ack = await self._js.publish(
                    subject,
                    data,
                    timeout=max(0.1, min(1.0, left)),
                    stream=self.stream,
                    headers=headers,
                )
            except (NatsTimeout, NoRespondersError):
                # The same message id again: if the first attempt was stored, this is a no-op.
                if loop.time() >= deadline:
                    raise
                self.counters["publish_retries"] += 1
                await asyncio.sleep(0.1)
                continue
            self.counters["duplicates" if ack.duplicate else "published"] += 1
            return

    # -- receiving ---------------------------------------------------------------------------

    async def receive(self, partition: int) -> Envelope:
        return (await self.receive_batch(partition, 1))[0]

    async def receive_batch(self, partition: int, limit: int) -> list[Envelope]:
        """Waits until this process holds the partition, then for at least one envelope."""
        while True:
            try:
                await self._own(partition)
                sub = await self._subscription(partition)
                msgs = await sub.fetch(
                    max(1, min(limit, self.max_ack_pending)), timeout=self.fetch_wait_s
                )
            except NatsTimeout:
                continue
            except Exception as exc:  # NATS away or restarting: the partition waits, retries
                self.counters["receive_errors"] += 1
                log.warning("partition %d: %s; retrying", partition, type(exc).__name__)
                self._subs.pop(partition, None)
                await asyncio.sleep(_RETRY_S)
                continue
            if not self._fresh(partition):  # lost the lease while fetching: give them back
                for msg in msgs:
                    self._later(msg.nak())
                continue
            envelopes = self._open(partition, msgs)
            if envelopes:
                return envelopes

    def depth(self) -> int:
        """Envelopes this process received and has not settled yet (local, not the stream)."""
        return sum(self._inflight)

    async def backlog(self) -> int:
        """Messages in the stream not yet acknowledged, over every partition (asks NATS)."""
        await self.connect()
        assert self._js is not None
        total = 0
        for partition in range(self.partitions):
            try:
                info = await self._js.consumer_info(self.stream, _durable(partition))
            except NotFoundError:
                continue
            total += info.num_pending + info.num_ack_pending
        return total

    def _open(self, partition: int, msgs: list[Msg]) -> list[Envelope]:
        loop = asyncio.get_running_loop()
        envelopes = []
        for msg in msgs:
            try:
                envelope = wire.decode(msg.data)
            except wire.WireError as exc:  # nothing could ever read it: do not redeliver
                self.counters["undecodable"] += 1
                log.error("partition %d: message not readable (%s); dropped", partition, exc)
                self._later(msg.term())
                continue
            envelope.done = done = loop.create_future()
            self._held[done] = (partition, msg)
            self._inflight[partition] += 1
            done.add_done_callback(partial(self._settled, msg))
            envelopes.append(envelope)
        return envelopes

    def _settled(self, msg: Msg, done: asyncio.Future[None]) -> None:
        held = self._held.pop(done, None)
        if held is None:  # given back by close()
            return
        self._inflight[held[0]] -= 1
        if not done.cancelled() and done.exception() is None:
            self._later(msg.ack())
            return
        self.counters["naks"] += 1
        delivered = max(1, msg.metadata.num_delivered or 1)
        delay = min(self.nak_delay_s * 2 ** (delivered - 1), _MAX_NAK_DELAY_S)
        self._later(msg.nak(delay=delay))

    def _later(self, coroutine: Any) -> None:
        """Send an ack or nak without waiting; a lost one only means a redelivery."""

        async def quietly() -> None:
            try:
                await coroutine
            except Exception as exc:
                self.counters["ack_failures"] += 1
                log.debug("ack not sent (%s)", type(exc).__name__)

        task = asyncio.get_running_loop().create_task(quietly())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _subscription(self, partition: int) -> JetStreamContext.PullSubscription:
        sub = self._subs.get(partition)
        if sub is not None:
            return sub
        assert self._js is not None
        config = ConsumerConfig(
            durable_name=_durable(partition),
            filter_subject=f"{self.subject}.{partition}",
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.ack_wait_s,
            max_ack_pending=self.max_ack_pending,
            max_deliver=-1,
        )
        try:
            await self._js.add_consumer(self.stream, config)
        except BadRequestError as exc:  # an older server that cannot change a consumer
            log.warning("partition %d consumer kept as it is (%s)", partition, exc.description)
        sub = await self._js.pull_subscribe_bind(durable=_durable(partition), stream=self.stream)
        self._subs[partition] = sub
        return sub

    # -- leases ------------------------------------------------------------------------------

    async def _own(self, partition: int) -> None:
        """Return once this process may pull the partition (holding a fresh lease)."""
        await self._start_keeping()
        while True:
            if partition in self._leases:
                if partition in self._surplus():
                    if not self._inflight[partition]:  # all acknowledged: hand it over
                        await self._release(partition)
                elif self._fresh(partition):
                    return
            elif len(self._leases) + self._claiming < self._share() and await self._claim(
                partition
            ):
                continue
            await asyncio.sleep(self._claim_every)

    @property
    def _claim_every(self) -> float:
        return min(1.0, self.lease_ttl_s / 8)

    def _share(self) -> int:
        return math.ceil(self.partitions / max(1, self._members))

    def _surplus(self) -> list[int]:
        return sorted(self._leases)[self._share() :]

    def _fresh(self, partition: int) -> bool:
        """Held, and renewed recently enough that no other worker can have it yet."""
        lease = self._leases.get(partition)
        if lease is None:
            return False
        age = asyncio.get_running_loop().time() - lease.renewed_at
        return age + self.fetch_wait_s < self.lease_ttl_s * 3 / 4

    async def _claim(self, partition: int) -> bool:
        assert self._kv is not None
        self._claiming += 1
        sent = asyncio.get_running_loop().time()
        try:
            revision = await self._kv.create(f"p{partition}", self.worker_id.encode())
        except KeyWrongLastSequenceError:
            return False
        finally:
            self._claiming -= 1
        self._leases[partition] = _Lease(revision, sent)
        log.info("partition %d taken by %s", partition, self.worker_id)
        return True

    async def _release(self, partition: int) -> None:
        lease = self._leases.pop(partition)  # at once, so other partitions count it gone
        assert self._nc is not None and self._kv is not None
        try:
            await self._nc.flush(timeout=2)  # acks reach the server before the next holder
            await self._kv.delete(f"p{partition}", last=lease.revision)
        except Exception as exc:  # it expires instead
            log.info("partition %d lease left to expire (%s)", partition, type(exc).__name__)
        log.info("partition %d handed over by %s", partition, self.worker_id)

    async def _settled_on_server(self, partition: int) -> bool:
        assert self._js is not None
        info = await self._js.consumer_info(self.stream, _durable(partition))
        return info.num_ack_pending == 0

    async def _start_keeping(self) -> None:
        if self._keeper is not None and self._kv is not None:
            return
        await self.connect()
        async with self._connecting:
            if self._kv is None:
                assert self._js is not None
                self._kv = await self._js.create_key_value(
                    KeyValueConfig(
                        bucket=f"{self.stream}_leases",
                        ttl=self.lease_ttl_s,
                        history=1,
                        storage=StorageType.FILE,
                        replicas=self.replicas,
                    )
                )
                await self._register()
            if self._keeper is None:
                self._keeper = asyncio.create_task(self._keep(), name="nats-bus-leases")

    async def _keep(self) -> None:
        """Renew the leases and this worker's membership every quarter TTL."""
        while True:
            await asyncio.sleep(self.lease_ttl_s / 4)
            try:
                await self._renew()
                await self._register()
            except Exception as exc:  # NATS away: the leases age, and `_fresh` says so
                log.warning("leases not renewed (%s)", type(exc).__name__)

    async def _renew(self) -> None:
        assert self._kv is not None
        loop = asyncio.get_running_loop()
        for partition, lease in list(self._leases.items()):
            sent = loop.time()
            try:
                revision = await self._kv.update(
                    f"p{partition}", self.worker_id.encode(), last=lease.revision
                )
            except KeyWrongLastSequenceError:
                if self._leases.get(partition) is lease:
                    del self._leases[partition]
                    log.warning("partition %d lease lost by %s", partition, self.worker_id)
                continue
            lease.revision, lease.renewed_at = revision, sent

    async def _register(self) -> None:
        assert self._kv is not None
        await self._kv.put(f"w.{self.worker_id}", b"")
        keys = await self._kv.keys()
        self._members = max(1, sum(key.startswith("w.") for key in keys))


async def _quiet_error(exc: Exception) -> None:
    log.debug("NATS client: %s", type(exc).__name__)


async def _reconnected() -> None:
    log.info("NATS reconnected")


def _durable(partition: int) -> str:
    return f"partition-{partition}"
