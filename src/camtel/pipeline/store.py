"""Batched writes: positions inserted idempotently, each device's newest fix kept ready for the
live map, devices' last-seen time moved forward."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, or_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from camtel.bus.base import Envelope
from camtel.db.base import micros, utcnow
from camtel.db.engine import Database, json_loads
from camtel.devices import latest, position_attributes
from camtel.devices.models import Device, Position
from camtel.errors import storage_full
from camtel.events import writer as event_writer

log = logging.getLogger(__name__)

_POSITIONS = cast(Table, Position.__table__)
_DEVICES = cast(Table, Device.__table__)

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


#: The positions columns in the order `_values` gives them.
_COLUMNS = (
    "device_id",
    "time",
    "dedup",
    "server_time",
    "latitude",
    "longitude",
    "valid",
    "speed_kmh",
    "course",
    "altitude",
    "accuracy_m",
    "source",
    *position_attributes.COLUMNS,
)
_KEY = ("device_id", "time", "dedup")


def _values(envelope: Envelope) -> tuple[Any, ...]:
    position = envelope.position
    assert position is not None
    return (
        envelope.device_id,
        position.time,
        envelope.dedup,
        envelope.received_at,
        position.latitude,
        position.longitude,
        position.valid,
        position.speed_kmh,
        position.course,
        position.altitude,
        position.accuracy_m,
        position.source,
        *position_attributes.pack(_attributes(position.attributes, position.alarms)),
    )


def _attributes(attributes: dict[str, Any], alarms: tuple[str, ...]) -> dict[str, Any]:
    if not alarms:
        return attributes
    return {**attributes, "alarms": list(alarms)}


def _float(value: float | None) -> float | None:
    return None if value is None else float(value)


def _bool(value: bool | None) -> int | None:
    return None if value is None else int(value)


class _SqliteInsert:
    """The idempotent insert as SQLite's driver takes it: one prepared statement, rows as
    tuples of the very values SQLAlchemy would bind (UUIDs as hex, times as integer
    microseconds, booleans as 0/1, JSON text), converted in one pass without its per-column
    bookkeeping. `tests/pipeline/test_store_rows.py` holds it to SQLAlchemy's own processors."""

    def __init__(self, database: Database) -> None:
        names = ", ".join(_COLUMNS)
        marks = ", ".join("?" for _ in _COLUMNS)
        # Names come from the table definition and every value is bound: nothing to inject.
        self.sql = (
            f"INSERT INTO {_POSITIONS.name} ({names}) VALUES ({marks}) "  # noqa: S608
            f"ON CONFLICT ({', '.join(_KEY)}) DO NOTHING"
        )
        dialect = database.engine.dialect
        self._json = getattr(dialect, "_json_serializer", None) or json.dumps

    def rows(self, values: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        dumps, at = self._json, micros
        return [
            (
                device_id.hex,
                at(time),
                dedup,
                at(server_time),
                float(latitude),
                float(longitude),
                None if valid is None else int(valid),
                _float(speed),
                _float(course),
                _float(altitude),
                _float(accuracy),
                source,
                alarm_flags,
                odometer_m,
                satellites,
                rssi,
                _bool(ignition),
                _bool(blind_area),
                _bool(motion),
                distance_m,
                total_distance_m,
                status_flags,
                None if extra is None else dumps(extra),
            )
            for (
                device_id,
                time,
                dedup,
                server_time,
                latitude,
                longitude,
                valid,
                speed,
                course,
                altitude,
                accuracy,
                source,
                alarm_flags,
                odometer_m,
                satellites,
                rssi,
                ignition,
                blind_area,
                motion,
                distance_m,
                total_distance_m,
                status_flags,
                extra,
            ) in values
        ]


class _PostgresCopy:
    """The idempotent insert on PostgreSQL: a batch goes by binary `COPY` into a temporary
    table of the connection (emptied at each commit), then into `positions` with one
    `INSERT ... SELECT ... ON CONFLICT DO NOTHING`: a third to a half of the time of the same
    rows as an `executemany` in pipeline mode (docs/performance.md)."""

    STAGE = "positions_staged"

    def __init__(self, database: Database) -> None:
        dialect = database.engine.dialect
        table = _POSITIONS.name
        names = ", ".join(_COLUMNS)
        self.types = [
            _POSITIONS.c[name].type.compile(dialect=dialect).lower().split("(")[0]
            for name in _COLUMNS
        ]
        # Names come from the table definition: nothing to inject.
        self.create = (  # quietly: no notice that it exists, batch after batch
            "SET LOCAL client_min_messages TO warning; "
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {self.STAGE} "
            f"(LIKE {table} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        self.copy = f"COPY {self.STAGE} ({names}) FROM STDIN (FORMAT BINARY)"
        self.move = (
            f"INSERT INTO {table} ({names}) SELECT {names} FROM {self.STAGE} "  # noqa: S608
            f"ON CONFLICT ({', '.join(_KEY)}) DO NOTHING"
        )
        self._json = getattr(dialect, "_json_serializer", None) or json.dumps

    async def insert(self, db: AsyncConnection, values: list[tuple[Any, ...]]) -> None:
        from psycopg.types.json import Jsonb  # the PostgreSQL driver, only where it is used

        connection = (await db.get_raw_connection()).driver_connection
        assert connection is not None  # checked out of the pool just now, so still open
        extra, dumps = len(_COLUMNS) - 1, self._json
        async with connection.cursor() as cursor:
            # Made in every transaction (one round trip, a catalogue lookup when it exists):
            # a table made in a transaction that failed later is gone, and behind a pooler
            # the next transaction may have another server session.
            await cursor.execute(self.create)
            async with cursor.copy(self.copy) as copy:
                copy.set_types(self.types)
                for row in values:
                    if row[extra] is not None:
                        row = (*row[:extra], Jsonb(row[extra], dumps=dumps))
                    await copy.write_row(row)
            await cursor.execute(self.move)


class Store:
    """One writer task: takes envelopes in order, writes them in batches, settles each."""

    def __init__(self, database: Database, *, batch_size: int = 500, capacity: int = 0) -> None:
        self.database = database
        self.batch_size = batch_size
        self.capacity = capacity or batch_size * 4
        self.counters: Counter[str] = Counter()
        #: Called with every batch of positions just committed (live updates, events).
        self.listeners: list[Callable[[list[Envelope]], None]] = []
        #: Called with the event rows each committed batch really inserted (notifications).
        self.event_listeners: list[Callable[[list[dict[str, Any]]], None]] = []
        # A plain list and two wake-ups instead of an asyncio.Queue: the writer takes what
        # accumulated during the last commit in one go, without a task switch per envelope.
        self._pending: list[Envelope] = []
        self._ready: asyncio.Event | None = None
        self._room: asyncio.Event | None = None
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        dialect = database.dialect
        if dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"no idempotent insert for the {dialect} dialect")
        self._sqlite = _SqliteInsert(database) if dialect == "sqlite" else None
        self._copy = _PostgresCopy(database) if dialect == "postgresql" else None
        self._latest = latest.upsert_statement(dialect)
        encoder = self._sqlite or self._copy
        assert encoder is not None
        self._dumps = encoder._json  # how the insert writes a JSON column

    async def submit(self, envelope: Envelope) -> None:
        """Queue an envelope for the next batch (waits while `capacity` are queued)."""
        while len(self._pending) >= self.capacity and self.running:
            assert self._room is not None
            self._room.clear()
            await self._room.wait()
        self._pending.append(envelope)
        if self._ready is not None:
            self._ready.set()

    async def submit_many(self, envelopes: list[Envelope]) -> None:
        """Queue envelopes in order for the next batches (waits while `capacity` are queued;
        a list may take the queue past it by its own length)."""
        while len(self._pending) >= self.capacity and self.running:
            assert self._room is not None
            self._room.clear()
            await self._room.wait()
        self._pending += envelopes
        if self._ready is not None:
            self._ready.set()

    def start(self) -> None:
        self._ready, self._room = asyncio.Event(), asyncio.Event()
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="pipeline-store")

    async def stop(self) -> None:
        """Write what is queued, then stop."""
        if self._task is None:
            return
        if not self._task.done():
            self._stopping = True  # the writer ends once it has written what is queued
            assert self._ready is not None
            self._ready.set()
            await asyncio.wait({self._task}, timeout=30)
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self._task = None
        left, self._pending = self._pending, []
        for envelope in left:  # never leave a gateway waiting on a lost future
            envelope.settle(StoreError("stopped"))
        if self._room is not None:
            self._room.set()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _run(self) -> None:
        assert self._ready is not None and self._room is not None
        while True:
            if not self._pending:
                if self._stopping:
                    return
                self._ready.clear()
                await self._ready.wait()
                continue
            batch = self._pending[: self.batch_size]
            del self._pending[: self.batch_size]
            self._room.set()
            await self.write(batch)

    async def write(self, batch: list[Envelope]) -> None:
        """Write a batch in one transaction; when that fails, each envelope on its own, so
        that one bad row (a device deleted meanwhile) does not hold back the others. A full
        disk or database fails the batch whole: its devices are not acknowledged and send
        again, and the next batch tries again (nothing to restart once space is back)."""
        try:
            events = await self._write(batch)
        except Exception as exc:  # any database failure is retried per row
            if storage_full(exc):
                self.counters["storage_full"] += 1
                log.error(
                    "database full: %d envelope(s) not stored, their devices are not "
                    "acknowledged and send them again (%s)",
                    len(batch),
                    type(exc).__name__,
                )
                self._fail(batch, exc, logged=True)
                return
            if len(batch) == 1:
                self._fail(batch, exc)
                return
            # The error's type only: its text carries the rows' values (places, devices).
            log.warning(
                "batch of %d failed (%s); writing one by one", len(batch), type(exc).__name__
            )
            for envelope in batch:
                try:
                    events = await self._write([envelope])
                except Exception as single:
                    self._fail([envelope], single)
                else:
                    self._done([envelope], events)
            return
        self._done(batch, events)

    async def _write(self, batch: list[Envelope]) -> list[dict[str, Any]]:
        """Everything a batch changes, in one transaction: its positions, the newest fix of
        each of its devices (`devices.latest`), its devices' last-seen times."""
        stored = [e for e in batch if e.position is not None]
        values = [_values(e) for e in stored]
        seen: dict[uuid.UUID, datetime] = {}
        for envelope in batch:
            previous = seen.get(envelope.device_id)
            if previous is None or envelope.received_at > previous:
                seen[envelope.device_id] = envelope.received_at
        async with self.database.engine.begin() as db:
            if values:
                await self._insert_positions(db, values)
                kept = latest.newest_in_batch(values, extra=self._as_read)
                await latest.upsert(db, self._latest, kept)
            await db.execute(
                _TOUCH, [{"device": device, "seen": at} for device, at in seen.items()]
            )
            # Events the stages decided: durable with their position, before any acknowledgement.
            events = [(e.device_id, event) for e in batch for event in e.events]
            inserted = (
                await event_writer.write(db, self.database.dialect, events, utcnow())
                if events
                else []
            )
        self.counters["batches"] += 1
        self.counters["positions_written"] += len(values)
        self.counters["events_written"] += len(inserted)
        return inserted

    def _as_read(self, extra: dict[str, Any]) -> Any:
        """A JSON column's value as the database gives it back (the kept answer shows that)."""
        value = json_loads(self._dumps(extra))
        return value if self._sqlite is not None else latest.jsonb_order(value)

    async def _insert_positions(self, db: AsyncConnection, values: list[tuple[Any, ...]]) -> None:
        if self._sqlite is not None:
            await db.exec_driver_sql(self._sqlite.sql, self._sqlite.rows(values))
        else:
            assert self._copy is not None
            await self._copy.insert(db, values)

    def _done(self, batch: list[Envelope], events: Sequence[dict[str, Any]] = ()) -> None:
        for envelope in batch:
            envelope.settle()
        for listener in self.event_listeners if events else ():
            try:
                listener(list(events))
            except Exception:  # notifications must not undo a durable write
                self.counters["listener_failures"] += 1
                log.exception("a stored-events listener failed")
        stored = [e for e in batch if e.position is not None]
        for stored_listener in self.listeners if stored else ():
            try:
                stored_listener(stored)
            except Exception:  # a live-update consumer must not undo a durable write
                self.counters["listener_failures"] += 1
                log.exception("a stored-positions listener failed")

    def _fail(self, batch: list[Envelope], exc: BaseException, *, logged: bool = False) -> None:
        self.counters["write_failures"] += len(batch)
        if not logged:
            log.error("could not store %d envelope(s): %s", len(batch), type(exc).__name__)
        for envelope in batch:
            envelope.settle(StoreError(type(exc).__name__))
