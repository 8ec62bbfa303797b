"""The in-app inbox: notifications stored per person, read/unread, pushed live on arrival."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, and_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.bus.live import LiveHub, LiveUpdate
from camtel.errors import NotFound
from camtel.notify.models import InboxItem

#: Titles per event type; `{device}` is the device's name, other fields come from attributes.
TITLES = {
    "geofence_enter": "{device} entered {geofence}",
    "geofence_exit": "{device} left {geofence}",
    "overspeed": "{device} is speeding",
    "alarm": "{device}: alarm {alarm}",
    "harsh_braking": "{device}: harsh braking",
    "harsh_acceleration": "{device}: harsh acceleration",
    "harsh_event": "{device}: harsh driving",
    "collision": "{device}: collision detected",
    "ignition_on": "{device}: ignition on",
    "ignition_off": "{device}: ignition off",
    "device_online": "{device} is online",
    "device_offline": "{device} went offline",
    "motion_start": "{device} started moving",
    "motion_stop": "{device} stopped",
}


def title(event_type: str, device_name: str, attributes: Mapping[str, Any]) -> str:
    """A one-line, human title for an event (no coordinates: titles travel by mail and push)."""
    fields = {
        "device": device_name or "A device",
        # The pipeline names the fence `fence_name`; older events said `geofence_name`.
        "geofence": str(
            attributes.get("fence_name")
            or attributes.get("geofence_name")
            or attributes.get("geofence")
            or "a geofence"
        ),
        "alarm": str(attributes.get("alarm") or attributes.get("alarms") or "").strip("[]'\""),
    }
    template = TITLES.get(event_type, "{device}: " + event_type.replace("_", " "))
    return template.format(**fields).strip().rstrip(":")[:200]


def payload(item: InboxItem) -> dict[str, Any]:
    """What the live socket and the API show of an inbox item."""
    return {
        "id": str(item.id),
        "user_id": str(item.user_id),
        "event_id": str(item.event_id),
        "event_type": item.type,
        "title": item.title,
        "urgent": item.urgent,
        "time": item.time.isoformat(),
        "read": item.read_at is not None,
    }


async def add(db: AsyncSession, rows: list[dict[str, Any]]) -> list[uuid.UUID]:
    """Insert inbox rows, skipping (person, event) pairs already there; the new rows' ids."""
    if not rows:
        return []
    assert db.bind is not None  # camtel's sessions are bound to its engine
    dialect = db.bind.dialect.name
    if dialect not in ("postgresql", "sqlite"):  # pragma: no cover - camtel supports two
        # (a plain INSERT has no ON CONFLICT clause to skip the pairs already there)
        raise NotImplementedError(f"inbox rows cannot be added on {dialect}")
    base = postgresql.insert(InboxItem) if dialect == "postgresql" else sqlite.insert(InboxItem)
    statement = base.on_conflict_do_nothing(index_elements=["user_id", "event_id"]).returning(
        InboxItem.id
    )
    return list(await db.scalars(statement, rows))


def publish(live: LiveHub, items: list[InboxItem]) -> None:
    """Announce new inbox items on the live socket (it shows them to viewers of the device;
    clients keep those whose `user_id` is theirs)."""
    for item in items:
        live.publish(LiveUpdate("notification", item.device_id, payload(item)))


# Reading and marking (the API calls these)


async def list_items(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    limit: int,
    unread: bool | None = None,
    before: uuid.UUID | None = None,
) -> list[InboxItem]:
    """A page of the person's inbox, newest first (`limit + 1` rows)."""
    query = (
        select(InboxItem)
        .where(InboxItem.user_id == user_id)
        .order_by(InboxItem.id.desc())
        .limit(limit + 1)
    )
    if unread is True:
        query = query.where(InboxItem.read_at.is_(None))
    elif unread is False:
        query = query.where(InboxItem.read_at.is_not(None))
    if before is not None:
        query = query.where(InboxItem.id < before)
    return list(await db.scalars(query))


async def mark(
    db: AsyncSession, *, user_id: uuid.UUID, item_id: uuid.UUID, read: bool, now: datetime
) -> InboxItem:
    """Mark one of the person's items read or unread."""
    item = await db.get(InboxItem, item_id)
    if item is None or item.user_id != user_id:
        raise NotFound("notification not found")
    if read and item.read_at is None:
        item.read_at = now
    elif not read:
        item.read_at = None
    await db.flush()
    return item


async def mark_all_read(db: AsyncSession, *, user_id: uuid.UUID, now: datetime) -> int:
    """Mark every unread item of the person read; how many changed."""
    result = await db.execute(
        update(InboxItem)
        .where(and_(InboxItem.user_id == user_id, InboxItem.read_at.is_(None)))
        .values(read_at=now)
    )
    return int(cast(CursorResult[Any], result).rowcount)
