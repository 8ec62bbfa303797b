"""The access log (P24): people signing in and devices connecting, when, from which client.

Addresses are kept only as keyed hashes (HMAC-SHA256 with the data-dir key of
`camtel.privacy.diagnostics`), clients only as a short summary of their User-Agent, and
rows go after 30 days (the sweep rules in `camtel.privacy.registry`). No location is kept:
deriving one would need a GeoIP database, and the hash cannot give one. Device connections
are written by one background task in batches, so a gateway never waits for (or fails
with) the database.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import and_, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.accounts.service import find_by_email
from camtel.background import Background
from camtel.db.base import new_id, utcnow
from camtel.db.engine import Database
from camtel.privacy.diagnostics import load_key, pseudonym
from camtel.privacy.models import AccessLogEntry, DeviceAccessEntry

log = logging.getLogger(__name__)

SIGN_IN, SIGN_IN_FAILED, DEVICE_CONNECT = "sign_in", "sign_in_failed", "device_connect"
MAX_TEXT = 64
#: Per-request protocols (OsmAnd, MQTT) note a device at most once per this many seconds.
THROTTLE_S = 600.0
#: Connection protocols note every connection, but a device reconnecting in a loop at most
#: once per this many seconds (a hostile device must not flood the table).
MIN_GAP_S = 60.0
MAX_THROTTLED = 100_000
MAX_QUEUED = 10_000
BATCH_SIZE = 500

_FAILURES = ("otp_required", "otp_invalid", "email_unverified")

# Order matters: Edge, Opera and Samsung also say "Chrome/", and Chrome also says "Safari/".
_BROWSERS = (
    ("Edg/", "Edge"),
    ("EdgA/", "Edge"),
    ("EdgiOS/", "Edge"),
    ("OPR/", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chrome/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Safari/", "Safari"),
)
# Android says "Linux" too, and iPhones say "like Mac OS X".
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("iPod", "iOS"),
    ("CrOS", "ChromeOS"),
    ("Windows", "Windows"),
    ("Macintosh", "macOS"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)
_PRODUCT = re.compile(r"([A-Za-z][A-Za-z0-9._+-]{0,39})(?:/([A-Za-z0-9._+-]{1,20}))?")


def client_summary(user_agent: str | None) -> str:
    """A short client name: "Firefox on Android", "camtel-app 2.3.1 on iOS", or "". Pure."""
    agent = (user_agent or "").strip()
    if not agent:
        return ""
    system = next((name for marker, name in _SYSTEMS if marker in agent), "")
    if agent.startswith("Mozilla/"):
        browser = next((name for marker, name in _BROWSERS if marker in agent), "other browser")
        summary = f"{browser} on {system}" if system else browser
    else:
        product = _PRODUCT.match(agent)
        if product is None:
            return ""
        name, version = product.groups()
        summary = f"{name} {version}" if version else name
        if system:
            summary += f" on {system}"
    return summary[:MAX_TEXT]


def reported_text(text: str) -> str:
    """What a device says about itself, fit to store: printable, one line, short. Pure."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())[:MAX_TEXT]


def host_of(peer: object) -> str | None:
    """The IP address of a peer (an address, or a socket / ASGI `(host, port)`), canonical;
    None when there is none. Pure."""
    if isinstance(peer, tuple | list) and peer:
        peer = peer[0]
    if not isinstance(peer, str) or not peer:
        return None
    try:
        address = ipaddress.ip_address(peer.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.compressed


def address_hash(key: bytes, peer: object) -> str | None:
    """The keyed hash an address is stored and compared as; None without an address."""
    host = host_of(peer)
    return pseudonym(key, "address", host) if host else None


def failure_reason(error: Exception) -> str:
    """Why authentication refused a known account, in the log's words. Pure."""
    code = getattr(error, "extra", {}).get("code", "")
    return code if code in _FAILURES else "password"


# --- people ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Seen:
    """Where a sign-in came from, already pseudonymised (safe to hand to a task)."""

    channel: str
    address_hash: str | None
    client: str
    time: datetime


def seen(
    *, key: bytes, channel: str, address: object, user_agent: str | None, now: datetime
) -> Seen:
    """What the log keeps of one sign-in attempt's client."""
    return Seen(channel, address_hash(key, address), client_summary(user_agent), now)


def note_sign_in(db: AsyncSession, *, user_id: uuid.UUID, seen: Seen) -> None:
    """Log a successful sign-in in the request's own transaction."""
    db.add(_entry(user_id, seen, SIGN_IN, ""))


def note_failed_sign_in(
    background: Background, database: Database, *, email: str, seen: Seen, error: Exception
) -> None:
    """Log a refused sign-in when the account exists. Done in a task after the answer, so
    that answering takes as long for an unknown address as for a known one."""
    background.spawn(
        _failed(database, email, seen, failure_reason(error)), name="failed-sign-in-log"
    )


async def _failed(database: Database, email: str, seen: Seen, reason: str) -> None:
    try:
        async with database.session() as db:
            user = await find_by_email(db, email=email)
            if user is not None:
                db.add(_entry(user.id, seen, SIGN_IN_FAILED, reason))
    except Exception as exc:
        log.warning("a failed sign-in was not logged (%s)", type(exc).__name__)


def _entry(user_id: uuid.UUID, seen: Seen, kind: str, reason: str) -> AccessLogEntry:
    return AccessLogEntry(
        user_id=user_id,
        time=seen.time,
        kind=kind,
        channel=seen.channel,
        reason=reason,
        address_hash=seen.address_hash,
        client=seen.client,
    )


async def sign_ins(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None = None,
) -> list[AccessLogEntry]:
    """A page of a person's sign-ins, newest first (one extra row tells of a next page)."""
    query = (
        select(AccessLogEntry)
        .where(AccessLogEntry.user_id == user_id)
        .order_by(AccessLogEntry.time.desc(), AccessLogEntry.id.desc())
        .limit(limit + 1)
    )
    if after is not None:
        at, last = after
        query = query.where(
            or_(AccessLogEntry.time < at, and_(AccessLogEntry.time == at, AccessLogEntry.id < last))
        )
    return list(await db.scalars(query))


# --- devices ---------------------------------------------------------------------------


class DeviceAccessLog:
    """Notes device connections without making a gateway wait: `connected` only queues a
    row (a full queue drops it, counted), one task writes what is queued in batches, and
    a database error costs the batch, logged and counted, never a device's session."""

    def __init__(
        self,
        database: Database,
        *,
        key: bytes,
        clock: Callable[[], datetime] = utcnow,
        throttle_s: float = THROTTLE_S,
        min_gap_s: float = MIN_GAP_S,
        max_queued: int = MAX_QUEUED,
    ) -> None:
        self.database = database
        self.key = key
        self.clock = clock
        self.throttle_s = throttle_s
        self.min_gap_s = min_gap_s
        self.counters: Counter[str] = Counter()
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(max_queued)
        self._last: dict[uuid.UUID, float] = {}
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def in_data_dir(
        cls, database: Database, data_dir: Path, *, clock: Callable[[], datetime]
    ) -> DeviceAccessLog:
        """The process's device access log, on its database with the data-dir key."""
        return cls(database, key=load_key(data_dir), clock=clock)

    def connected(
        self,
        *,
        device_id: uuid.UUID,
        protocol: str,
        peer: object = None,
        model: str = "",
        throttle: bool = False,
    ) -> None:
        """Note that a device connected (`throttle`: at most once per `throttle_s`, for
        protocols without connections; otherwise at most once per `min_gap_s`). Never waits,
        never raises."""
        try:
            if not self._due(device_id, self.throttle_s if throttle else self.min_gap_s):
                self.counters["throttled"] += 1
                return
            self._queue.put_nowait(
                {
                    "id": new_id(),
                    "device_id": device_id,
                    "time": self.clock(),
                    "kind": DEVICE_CONNECT,
                    "protocol": protocol,
                    "address_hash": address_hash(self.key, peer),
                    "model": reported_text(model),
                }
            )
            if self._task is None or self._task.done():
                self._task = asyncio.get_running_loop().create_task(
                    self._run(), name="device-access-log"
                )
        except asyncio.QueueFull:
            self.counters["dropped"] += 1
        except Exception:
            self.counters["dropped"] += 1
            log.exception("device access not noted")

    def _due(self, device_id: uuid.UUID, gap_s: float) -> bool:
        now = time.monotonic()
        last = self._last.get(device_id)
        if last is not None and now - last < gap_s:
            return False
        if len(self._last) >= MAX_THROTTLED:
            self._last = {d: t for d, t in self._last.items() if now - t < self.throttle_s}
            if len(self._last) >= MAX_THROTTLED:
                self._last.clear()
        self._last[device_id] = now
        return True

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < BATCH_SIZE and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._write(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _write(self, rows: list[dict[str, Any]]) -> None:
        try:
            async with self.database.session() as db:
                await db.execute(insert(DeviceAccessEntry), rows)
        except IntegrityError:
            if len(rows) > 1:  # a device deleted meanwhile: keep the others' rows
                for row in rows:
                    await self._write([row])
                return
            self._failed(rows, "IntegrityError")
        except Exception as exc:
            self._failed(rows, type(exc).__name__)
        else:
            self.counters["written"] += len(rows)

    def _failed(self, rows: list[dict[str, Any]], why: str) -> None:
        self.counters["failed"] += len(rows)
        log.warning("device access log: %d rows not written (%s)", len(rows), why)

    async def flush(self) -> None:
        """Wait until every queued row is written (or given up)."""
        await self._queue.join()

    async def stop(self, timeout_s: float = 5.0) -> None:
        """Write what is queued (within `timeout_s`), then end the writer."""
        try:
            await asyncio.wait_for(self.flush(), timeout_s)
        except TimeoutError:
            log.warning("device access log: %d rows not written at stop", self._queue.qsize())
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None


async def device_connections(
    db: AsyncSession,
    *,
    device_ids: set[uuid.UUID],
    limit: int,
    after: tuple[datetime, uuid.UUID] | None = None,
) -> list[DeviceAccessEntry]:
    """A page of connections of these devices, newest first (one extra row tells of a next
    page)."""
    if not device_ids:
        return []
    query = (
        select(DeviceAccessEntry)
        .where(DeviceAccessEntry.device_id.in_(device_ids))
        .order_by(DeviceAccessEntry.time.desc(), DeviceAccessEntry.id.desc())
        .limit(limit + 1)
    )
    if after is not None:
        at, last = after
        query = query.where(
            or_(
                DeviceAccessEntry.time < at,
                and_(DeviceAccessEntry.time == at, DeviceAccessEntry.id < last),
            )
        )
    return list(await db.scalars(query))
