"""Faults made on purpose: a store slowed at its batch write, devices that flood a gateway
without waiting for replies, a full database and a full media store, and bounded waiting for
a condition (no fixed sleeps)."""

from __future__ import annotations

import asyncio
import errno
import socket
import struct
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, select

from camtel.db.engine import Database
from camtel.devices.models import Position as Row
from camtel.gateways.tcp import Connection
from camtel.ingest import Ingest
from camtel.pipeline.store import Store
from camtel.services import Services
from helpers.ingest import Terminal, location_body, unescape, xor


async def until(condition: Callable[[], bool], what: str, timeout_s: float = 60.0) -> None:
    """Poll `condition` until it holds; fail naming `what` after `timeout_s` (a safety net for
    a broken build, never the thing a test measures)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        assert loop.time() < deadline, f"gave up waiting: {what}"
        await asyncio.sleep(0.01)


class Throttle:
    """The pipeline store's batch write held until the test lets batches through: a database
    that is slow (one batch at a time) or stalled (none), then fast again (`open`). The real
    writer runs; only its pace is the test's."""

    def __init__(self, store: Store) -> None:
        self._write = store._write
        self._allowed = 0
        self._changed = asyncio.Event()
        self.fast = False
        #: Envelopes inside a write that waits for the test.
        self.held = 0
        store._write = self.write  # type: ignore[method-assign]

    async def write(self, batch: list[Any]) -> list[dict[str, Any]]:
        self.held += len(batch)
        try:
            while not self.fast and self._allowed == 0:
                self._changed.clear()
                await self._changed.wait()
            if not self.fast:
                self._allowed -= 1
        finally:
            self.held -= len(batch)
        return await self._write(batch)

    def let_through(self, batches: int = 1) -> None:
        self._allowed += batches
        self._changed.set()

    def open(self) -> None:
        self.fast = True
        self._changed.set()


def server_side(ingest: Ingest, gateway: str) -> Connection:
    """The one connection a gateway holds."""
    connections = list(ingest.gateways[gateway]._connections.values())  # type: ignore[attr-defined]
    assert len(connections) == 1, connections
    return connections[0]


def reports_held(ingest: Ingest) -> int:
    """Reports in camtel's memory: published by a gateway, not yet written (nothing fails or
    is dropped in these tests)."""
    return (
        ingest.sink.counters["positions_published"]
        - ingest.worker.store.counters["positions_written"]
    )


class Flood:
    """A device on a non-blocking socket: it writes frames as long as its kernel takes them and
    never waits for a reply; replies are collected when the test looks."""

    def __init__(self, port: int, frame: Callable[[int], bytes], *, send_buffer: int = 16384):
        self.sock = socket.create_connection(("127.0.0.1", port))
        # A fixed send buffer (no autotuning): what the kernel holds for the device stays small.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
        self.sock.setblocking(False)
        self.frame = frame
        self.made = 0  # frames made, the last perhaps partly written
        self.limit = 0  # frames the device means to send
        self._tail = b""
        self.replies = bytearray()

    @property
    def sent(self) -> int:
        """Frames wholly handed to the kernel."""
        return self.made - (1 if self._tail else 0)

    def write_raw(self, data: bytes) -> None:
        self.sock.setblocking(True)
        self.sock.sendall(data)
        self.sock.setblocking(False)

    def pump(self) -> bool:
        """Write frames up to `limit` until the kernel refuses more: True when it refused."""
        while True:
            if not self._tail:
                if self.made >= self.limit:
                    return False
                batch = min(self.limit - self.made, 256)
                self._tail = b"".join(self.frame(self.made + n) for n in range(batch))
                self.made += batch
            try:
                written = self.sock.send(self._tail)
            except BlockingIOError:
                return True
            self._tail = self._tail[written:]

    def read(self) -> bytes:
        """Collect what the server wrote back so far."""
        while True:
            try:
                data = self.sock.recv(65536)
            except BlockingIOError:
                return bytes(self.replies)
            if not data:
                return bytes(self.replies)
            self.replies += data

    def close(self) -> None:
        self.sock.close()


def jt808_acks(data: bytes) -> list[tuple[int, int, int]]:
    """(acknowledged serial, message id, result) of every whole 0x8001 frame in `data`."""
    found = []
    pieces = data.split(b"\x7e")
    if not data.endswith(b"\x7e"):
        pieces.pop()  # a frame still on its way
    for raw in pieces:
        if not raw:
            continue
        frame = unescape(raw)
        if len(frame) < 13 or xor(frame[:-1]) != frame[-1]:
            continue
        message_id = struct.unpack_from(">H", frame)[0]
        if message_id == 0x8001:
            found.append(struct.unpack_from(">HHB", frame, 12))
    return found


#: SQLite's largest page count (what `max_page_count` is when nobody limits it).
UNLIMITED = 4294967294


class FullDatabase:
    """SQLite limited to the pages it has (`PRAGMA max_page_count`, set on every connection
    the pool hands out): whatever needs one more page fails with "database or disk is full",
    SQLite's answer to a full disk, until `full` is False again."""

    def __init__(self, database: Database) -> None:
        self.full = False
        event.listen(database.engine.sync_engine, "checkout", self._checkout)

    def _checkout(self, dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        cursor = dbapi_connection.cursor()
        limit = UNLIMITED
        if self.full:
            cursor.execute("PRAGMA page_count")
            limit = cursor.fetchone()[0]
        cursor.execute(f"PRAGMA max_page_count = {limit}")
        cursor.close()


class FullDisk:
    """The media store's files on a disk with `room` bytes left: a write past it fails with
    ENOSPC, as the kernel answers (install as `camtel.media.store.open`)."""

    def __init__(self, room: int) -> None:
        self.room = room
        self.full = False

    def __call__(self, path: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        file = open(path, mode, *args, **kwargs)  # noqa: SIM115 - handed to the store
        return _Filling(file, self) if "w" in mode else file


class _Filling:
    def __init__(self, file: Any, disk: FullDisk) -> None:
        self._file, self._disk = file, disk

    def write(self, data: bytes) -> int:
        if self._disk.full:
            if len(data) > self._disk.room:
                raise OSError(errno.ENOSPC, "No space left on device")
            self._disk.room -= len(data)
        return int(self._file.write(data))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)


def files_under(root: Path) -> dict[str, bytes]:
    """Every file under `root` with its bytes (the media store as it is on disk)."""
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


# JT/T 808 reports one at a time, numbered: report n is a fix at FIX_START + n seconds.

FIX_START = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0)
LAT, LON = 52.520008, 13.404954


def fix_time(n: int) -> datetime:
    return FIX_START + timedelta(seconds=n)


async def send_reports(terminal: Terminal, numbers: Iterable[int]) -> dict[int, int]:
    """Send reports back to back, then a heartbeat, and read the replies up to the
    heartbeat's: by then every report is settled (stored or refused), for replies leave in
    frame order. Returns {report number: serial} of the reports acknowledged."""
    serials = {}
    for n in numbers:
        body = location_body(LAT, LON, fix_time(n).strftime("%y%m%d%H%M%S"))
        serials[await terminal.send(0x0200, body)] = n
    marker = await terminal.send(0x0002, b"")
    acked = {}
    while True:
        message_id, body = await terminal.reply(timeout=60)
        assert message_id == 0x8001, hex(message_id)
        serial, answered, result = struct.unpack(">HHB", body)
        if (serial, answered) == (marker, 0x0002):
            return acked
        assert answered == 0x0200 and result == 0, body.hex()
        acked[serials[serial]] = serial


async def stored_times(services: Services) -> list[datetime]:
    async with services.database.session() as db:
        return list(await db.scalars(select(Row.time).order_by(Row.time)))


async def position_rows(services: Services) -> list[tuple[Any, ...]]:
    """(time, latitude, longitude, speed) of every stored position, in order."""
    async with services.database.session() as db:
        found = await db.execute(select(Row.time, Row.latitude, Row.longitude, Row.speed_kmh))
        return sorted(tuple(r) for r in found)
