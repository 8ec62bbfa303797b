"""Batched writes: positions inserted idempotently, devices' last-seen time moved forward."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, or_, update
from sqlalchemy.dialects import postgresql, sqlite

from camtel.bus.base import Envelope
from camtel.db.base import new_id
from camtel.db.engine import Database
from camtel.devices.models import Device, Position

log = logging.getLogger(__name__)

_POSITIONS = Position.__table__
_DEVICES = Device.__table__
_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}

_TOUCH = (
    update(_DEVICES)
    .where(
        and_(
            _DEVICES.c.id == bindparam("device"),
            or_(_DEVICES.c.last_seen_at.is_(None), _DEVICES.c.last_seen_at < bindparam("seen")),
        )
    )
    .values(last_seen_at=bindparam("seen"))
)


class StoreError(RuntimeError):
    """The database did not take a position; the device is not acknowledged and resends."""


def _row(envelope: Envelope) -> dict[str, Any]:
    position = envelope.position
    assert position is not None
    return {
        "id": new_id(),
        "device_id": envelope.device_id,
        "time": position.time,
        "server_time": envelope.received_at,
        "latitude": position.latitude,
        "longitude": position.longitude,
        "valid": position.valid,
        "speed_kmh": position.speed_kmh,
        "course": position.course,
        "altitude": position.altitude,
        "accuracy_m": position.accuracy_m,
        "source": position.source,
        "dedup": envelope.dedup,
        "attributes": _attributes(position.attributes, position.alarms),
    }


def _attributes(attributes: dict[str, Any], alarms: tuple[str, ...]) -> dict[str, Any]:
    out = dict(attributes)
    if alarms:
        out["alarms"] = list(alarms)
    return out


class Store:
    """One writer task: takes envelopes in order, writes them in batches, settles each."""

    def __init__(self, database: Database, *, batch_size: int = 500, capacity: int = 0) -> None:
        self.database = database
        self.batch_size = batch_size
        self.counters: Counter[str] = Counter()
        #: Called with every batch of positions just committed (live updates, events).
        self.listeners: list[Callable[[list[Envelope]], None]] = []
        self._queue: asyncio.Queue[Envelope | None] = asyncio.Queue(
            maxsize=capacity or batch_size * 4
        )
        self._task: asyncio.Task[None] | None = None
        dialect = database.dialect
        if dialect not in _INSERTS:
            raise ValueError(f"no idempotent insert for the {dialect} dialect")
        self._insert = (
            _INSERTS[dialect](_POSITIONS)
            .on_conflict_do_nothing(index_elements=["device_id", "time", "dedup"])
        )

    async def submit(self, envelope: Envelope) -> None:
        """Queue an envelope for the next batch (waits while the queue is full)."""
        await self._queue.put(envelope)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="pipeline-store")

    async def stop(self) -> None:
        """Write what is queued, then stop."""
        if self._task is None:
            return
        if not self._task.done():
            await self._queue.put(None)  # the writer ends when it reaches this
            await asyncio.wait({self._task}, timeout=30)
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self._task = None
        while not self._queue.empty():  # never leave a gateway waiting on a lost future
            left = self._queue.get_nowait()
            if left is not None:
                left.settle(StoreError("stopped"))

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _run(self) -> None:
        stopping = False
        while not stopping:
            first = await self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.batch_size and not self._queue.empty():
                item = self._queue.get_nowait()
                if item is None:
                    stopping = True
                    break
                batch.append(item)
            await self.write(batch)

    async def write(self, batch: list[Envelope]) -> None:
        """Write a batch in one transaction; when that fails, each envelope on its own, so
        that one bad row (a device deleted meanwhile) does not hold back the others."""
        try:
            await self._write(batch)
        except Exception as exc:  # any database failure is retried per row
            if len(batch) == 1:
                self._fail(batch, exc)
                return
            log.warning("batch of %d failed (%s); writing one by one", len(batch), exc)
            for envelope in batch:
                try:
                    await self._write([envelope])
                except Exception as single:
                    self._fail([envelope], single)
                else:
                    self._done([envelope])
            return
        self._done(batch)

    async def _write(self, batch: list[Envelope]) -> None:
        rows = [_row(e) for e in batch if e.position is not None]
        seen: dict[uuid.UUID, datetime] = {}
        for envelope in batch:
            previous = seen.get(envelope.device_id)
            if previous is None or envelope.received_at > previous:
                seen[envelope.device_id] = envelope.received_at
        async with self.database.session() as db:
            if rows:
                await db.execute(self._insert, rows)
            await db.execute(
                _TOUCH, [{"device": device, "seen": at} for device, at in seen.items()]
            )
        self.counters["batches"] += 1
        self.counters["positions_written"] += len(rows)

    def _done(self, batch: list[Envelope]) -> None:
        for envelope in batch:
            envelope.settle()
        stored = [e for e in batch if e.position is not None]
        for listener in self.listeners if stored else ():
            try:
                listener(stored)
            except Exception:  # a live-update consumer must not undo a durable write
                self.counters["listener_failures"] += 1
                log.exception("a stored-positions listener failed")

    def _fail(self, batch: list[Envelope], exc: BaseException) -> None:
        self.counters["write_failures"] += len(batch)
        log.error("could not store %d envelope(s): %s", len(batch), type(exc).__name__)
        for envelope in batch:
            envelope.settle(StoreError(type(exc).__name__))
