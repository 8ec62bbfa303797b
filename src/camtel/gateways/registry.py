"""Which device a protocol identity names: cached lookups; strangers go to the pending list.

Lookups are made in bulk: `warm()` loads every registered device at start, and the cache
misses of one event-loop turn (a fleet reconnecting at once, entries expiring together) are
resolved together in a few queries, however many they are. One batch runs at a time; the
misses arriving meanwhile make up the next one.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.db.base import utcnow
from camtel.db.engine import Database
from camtel.devices import service
from camtel.devices.identity import DeviceRef, unique_id_problem
from camtel.devices.models import Device
from camtel.gateways.names import label
from camtel.privacy.tracking import may_collect_locations

log = logging.getLogger(__name__)

#: Cached identities kept at most; past it, expired ones go, then all (a flood of made-up ids).
MAX_CACHED = 100_000
#: Identities resolved by one batch of queries (as many bound parameters, and as many
#: organisations and people at most in the privacy queries).
BATCH_SIZE = 400
#: Devices `warm()` loads at most, leaving the cache room for the rest and for strangers.
MAX_WARMED = MAX_CACHED // 2

Key = tuple[str, str]
#: `DeviceRef` (defined beside the identity rules, in camtel.devices) is named from here too.
__all__ = ["DeviceRef", "Registry"]


def _identities(keys: Collection[Key]) -> ColumnElement[bool]:
    """Devices with any of these identities: per protocol, so that the unique index is used
    (SQLite scans the table for a row-value IN)."""
    by_protocol: dict[str, list[str]] = {}
    for protocol, unique_id in keys:
        by_protocol.setdefault(protocol, []).append(unique_id)
    return or_(
        *(
            and_(Device.protocol == protocol, Device.unique_id.in_(unique_ids))
            for protocol, unique_ids in by_protocol.items()
        )
    )


_COLUMNS = (
    Device.id,
    Device.protocol,
    Device.unique_id,
    Device.organization_id,
    Device.driver_id,
    Device.attributes,
)


async def device_refs(db: AsyncSession, devices: Sequence[Any]) -> dict[Key, DeviceRef]:
    """DeviceRefs of rows of `_COLUMNS`, their collect_location decided in bulk."""
    allowed = await may_collect_locations(db, devices)
    return {
        (d.protocol, d.unique_id): DeviceRef(
            d.id, d.protocol, d.unique_id, dict(d.attributes or {}), allowed[d.id]
        )
        for d in devices
    }


class Registry:
    """Resolve (protocol, unique_id) to a device, caching answers for a short while.

    A registered device is cached for `ttl_s`; an unknown one for `unknown_ttl_s`, and it
    is noted in the pending list once per lookup that reaches the database, so that a chatty
    unknown device costs one write per `unknown_ttl_s`, not one per message. `forget` drops
    an answer at once, and one being loaded at that moment is not cached (it may be stale).
    """

    def __init__(
        self,
        database: Database,
        *,
        clock: Callable[[], datetime] = utcnow,
        ttl_s: float = 60.0,
        unknown_ttl_s: float = 10.0,
    ) -> None:
        self.database = database
        self.clock = clock
        self.ttl_s = ttl_s
        self.unknown_ttl_s = unknown_ttl_s
        self.counters: Counter[str] = Counter()
        self._cache: dict[Key, tuple[float, DeviceRef | None]] = {}
        #: Misses waiting for the next batch, and misses being answered (read or noted).
        self._queued: dict[Key, asyncio.Future[DeviceRef | None]] = {}
        self._loading: dict[Key, asyncio.Future[DeviceRef | None]] = {}
        self._batches: asyncio.Task[None] | None = None
        self._notes: set[asyncio.Task[None]] = set()
        #: Keys forgotten while `warm` runs (its answers for them may be stale).
        self._forgotten_while_warming: set[Key] | None = None

    async def resolve(self, protocol: str, unique_id: str) -> DeviceRef | None:
        """The registered device, or None (and the pending list is told)."""
        key = (protocol, unique_id)
        cached = self._cache.get(key)
        if cached is not None and cached[0] > time.monotonic():
            self.counters["cache_hits"] += 1
            return cached[1]
        if unique_id_problem(protocol, unique_id) is not None:
            self.counters["malformed_ids"] += 1
            return None
        future = self._queued.get(key) or self._loading.get(key)
        if future is None:
            future = self._queued[key] = asyncio.get_running_loop().create_future()
            if self._batches is None:
                # Starts after this turn's other callbacks: their misses join the batch.
                self._batches = asyncio.create_task(self._run_batches())
        # Shielded: a connection that goes away must not cancel the others' answer.
        return await asyncio.shield(future)

    def forget(self, protocol: str, unique_id: str) -> None:
        """Drop a cached answer (a device was registered, changed or deleted)."""
        key = (protocol, unique_id)
        self._cache.pop(key, None)
        # An answer being read may predate the change: not cached, and the next miss asks again.
        self._loading.pop(key, None)
        if self._forgotten_while_warming is not None:
            self._forgotten_while_warming.add(key)

    async def warm(self) -> int:
        """Load every registered device (up to MAX_WARMED) and whether its location may be
        collected, a few queries per BATCH_SIZE devices. Call it at start, before the
        gateways listen, so that a fleet reconnecting after a restart meets a warm cache.
        Returns the number of devices loaded."""
        refs: dict[Key, DeviceRef] = {}
        forgotten = self._forgotten_while_warming = set()
        try:
            async with self.database.session() as db:
                rows = list(await db.execute(select(*_COLUMNS).limit(MAX_WARMED + 1)))
                if len(rows) > MAX_WARMED:
                    log.warning("more than %d devices: the rest are loaded on demand", MAX_WARMED)
                    rows = rows[:MAX_WARMED]
                for start in range(0, len(rows), BATCH_SIZE):
                    refs |= await device_refs(db, rows[start : start + BATCH_SIZE])
        finally:
            self._forgotten_while_warming = None
        now, count = time.monotonic(), max(len(refs), 1)
        for n, (key, ref) in enumerate(refs.items()):
            if key not in forgotten:
                # Spread over the second half of the TTL, so that they do not expire together.
                self._remember(key, ref, now, self.ttl_s * (0.5 + 0.5 * n / count))
        self.counters["warmed"] += len(refs)
        return len(refs)

    async def _run_batches(self) -> None:
        """Answer queued misses, BATCH_SIZE at a time, until none are left."""
        batch: dict[Key, asyncio.Future[DeviceRef | None]] = {}
        try:
            while self._queued:
                keys = list(itertools.islice(self._queued, BATCH_SIZE))
                batch = {key: self._queued.pop(key) for key in keys}
                self._loading |= batch
                try:
                    unknown = await self._load_batch(batch)
                except Exception as exc:
                    for key, future in batch.items():
                        self._settle(key, future, exc)
                    continue
                if unknown:
                    # Writes: they must not hold up the next batch.
                    task = asyncio.create_task(self._note_unknown(unknown))
                    self._notes.add(task)
                    task.add_done_callback(self._notes.discard)
                batch = {}
        except BaseException:  # cancelled (shutting down): nobody is left waiting forever
            for key, future in [*batch.items(), *self._queued.items()]:
                if self._loading.get(key) is future:
                    del self._loading[key]
                future.cancel()
            self._queued.clear()
            raise
        finally:
            self._batches = None

    async def _load_batch(
        self, batch: dict[Key, asyncio.Future[DeviceRef | None]]
    ) -> dict[Key, asyncio.Future[DeviceRef | None]]:
        """Answer the registered devices of a batch; return the others."""
        self.counters["lookups"] += len(batch)
        self.counters["batches"] += 1
        async with self.database.session() as db:
            rows = list(await db.execute(select(*_COLUMNS).where(_identities(batch))))
            refs = await device_refs(db, rows)
        for key, ref in refs.items():
            self._settle(key, batch[key], ref, self.ttl_s)
        return {key: future for key, future in batch.items() if key not in refs}

    async def _note_unknown(self, unknown: dict[Key, asyncio.Future[DeviceRef | None]]) -> None:
        """Note strangers in the pending list and answer None for them: in one session, or
        one each when another connection or process noted one of them at the same time."""
        now = self.clock()
        try:
            try:
                async with self.database.session() as db:
                    for protocol, unique_id in unknown:
                        await service.note_pending(
                            db, protocol=protocol, unique_id=unique_id, now=now
                        )
            except IntegrityError:
                for protocol, unique_id in unknown:
                    try:
                        async with self.database.session() as db:
                            await service.note_pending(
                                db, protocol=protocol, unique_id=unique_id, now=now
                            )
                    except IntegrityError:
                        pass  # noted by another at the same time; one row is enough
        except Exception as exc:
            for key, future in unknown.items():
                self._settle(key, future, exc)
            return
        for key, future in unknown.items():
            self.counters["unknown"] += 1
            log.info("unknown %s device %s noted as pending", key[0], label(key[1]))
            self._settle(key, future, None, self.unknown_ttl_s)

    def _settle(
        self,
        key: Key,
        future: asyncio.Future[DeviceRef | None],
        outcome: DeviceRef | Exception | None,
        ttl: float = 0.0,
    ) -> None:
        """Answer a miss's waiters; cache the answer unless the key was forgotten meanwhile."""
        if self._loading.get(key) is future:
            del self._loading[key]
            if not isinstance(outcome, Exception):
                self._remember(key, outcome, time.monotonic(), ttl)
        if future.done():
            return
        if isinstance(outcome, Exception):
            future.set_exception(outcome)
            future.exception()  # marked retrieved: every waiter may have gone
        else:
            future.set_result(outcome)

    def _remember(self, key: Key, ref: DeviceRef | None, now: float, ttl: float) -> None:
        if len(self._cache) >= MAX_CACHED:
            self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
            if len(self._cache) >= MAX_CACHED:
                self._cache.clear()
        self._cache[key] = (now + ttl, ref)
