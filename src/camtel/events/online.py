"""Online and offline: a device heard after a silence is online; silent too long, offline.

`decide` is the pure rule. `watch_offline` is the thin periodic check around it that the
composition root starts once; it reads `devices.last_seen_at` (moved by every position and
heartbeat the store commits) and the device's newest online/offline event, so it works the
same with one process or many, and the cause keys make a repeated round a no-op.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from camtel.devices.models import Device
from camtel.events import writer
from camtel.events.models import Event
from camtel.messages import DeviceEvent

if TYPE_CHECKING:
    from camtel.db.engine import Database

log = logging.getLogger(__name__)

SILENCE_S = 600.0
EVERY_S = 10.0
_TYPES = ("device_online", "device_offline")


def decide(
    *,
    last_seen_at: datetime | None,
    last_type: str | None,
    last_time: datetime | None,
    now: datetime,
    silence: timedelta,
) -> DeviceEvent | None:
    """The connectivity event a device is due, given when it was last heard and its newest
    online/offline event; None when its state is already told."""
    if last_seen_at is None:
        return None
    if now - last_seen_at >= silence:
        if last_type != "device_online":
            return None  # already offline, or went quiet before camtel watched it
        return DeviceEvent(
            "device_offline",
            last_seen_at + silence,
            f"device_offline:{last_seen_at.isoformat()}",
            attributes={"last_seen_at": last_seen_at.isoformat()},
        )
    if last_type == "device_online":
        return None
    after = last_time.isoformat() if last_time is not None else "first"
    return DeviceEvent(
        "device_online",
        max(last_seen_at, last_time) if last_time is not None else last_seen_at,
        f"device_online:{after}",
        attributes={"last_seen_at": last_seen_at.isoformat()},
    )


async def check_connectivity(
    database: Database,
    *,
    now: datetime,
    silence: timedelta,
    notify: Callable[[list[dict[str, Any]]], None] | None = None,
) -> list[DeviceEvent]:
    """One round: write the online/offline events that are due; returns them. `notify` gets
    the rows really inserted, after the commit (notifications)."""
    newest = (
        select(Event.type, Event.time)
        .where(Event.device_id == Device.id, Event.type.in_(_TYPES))
        .order_by(Event.time.desc(), Event.id.desc())
        .limit(1)
    )
    lookback = now - silence - timedelta(days=1)
    query = select(
        Device.id,
        Device.last_seen_at,
        newest.with_only_columns(Event.type).scalar_subquery(),
        newest.with_only_columns(Event.time).scalar_subquery(),
    ).where(Device.last_seen_at.is_not(None), Device.last_seen_at >= lookback)
    due = []
    async with database.session() as db:
        for device_id, seen, last_type, last_time in await db.execute(query):
            event = decide(
                last_seen_at=seen,
                last_type=last_type,
                last_time=last_time,
                now=now,
                silence=silence,
            )
            if event is not None:
                due.append((device_id, event))
        inserted = await writer.write(db, database.dialect, due, now)
    if notify is not None and inserted:
        notify(inserted)
    return [event for _, event in due]


async def watch_offline(
    database: Database,
    *,
    clock: Callable[[], datetime],
    silence_s: float = SILENCE_S,
    every_s: float = EVERY_S,
    notify: Callable[[list[dict[str, Any]]], None] | None = None,
) -> None:
    """Run `check_connectivity` every `every_s` until cancelled (start it as a task)."""
    silence = timedelta(seconds=silence_s)
    while True:
        try:
            await check_connectivity(database, now=clock(), silence=silence, notify=notify)
        except Exception:
            log.exception("connectivity check failed")
        await asyncio.sleep(every_s)
