"""Writing decided events: idempotent on (device, cause), organisation taken from the device."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Insert, Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from camtel.db.base import new_id
from camtel.devices.models import Device
from camtel.events.models import Event
from camtel.messages import DeviceEvent

_INSERTS: dict[str, Callable[[Table], sqlite.Insert | postgresql.Insert]] = {
    "sqlite": sqlite.insert,
    "postgresql": postgresql.insert,
}


def insert_statement(dialect: str) -> Insert:
    """INSERT ... ON CONFLICT (device_id, cause) DO NOTHING for this dialect."""
    return _INSERTS[dialect](cast(Table, Event.__table__)).on_conflict_do_nothing(
        index_elements=["device_id", "cause"]
    )


def row(
    device_id: uuid.UUID, organization_id: uuid.UUID, event: DeviceEvent, now: datetime
) -> dict[str, Any]:
    """The events-table row of one decided event."""
    return {
        "id": new_id(),
        "organization_id": organization_id,
        "device_id": device_id,
        "type": event.type,
        "time": event.time,
        "urgent": event.urgent,
        "latitude": event.latitude,
        "longitude": event.longitude,
        "cause": event.cause[:160],
        "attributes": event.attributes,
        "created_at": now,
    }


async def write(
    db: AsyncSession | AsyncConnection,
    dialect: str,
    events: Iterable[tuple[uuid.UUID, DeviceEvent]],
    now: datetime,
) -> list[dict[str, Any]]:
    """Insert (device id, event) pairs in the caller's transaction; repeats are no-ops.
    Events of devices that no longer exist are skipped. Returns the rows really inserted
    (a repeat already stored is not returned, so it is not notified twice)."""
    pairs = list(events)
    if not pairs:
        return []
    devices = {device for device, _ in pairs}
    found = await db.execute(
        select(Device.id, Device.organization_id).where(Device.id.in_(devices))
    )
    orgs = {device: organization for device, organization in found}
    rows = [row(d, orgs[d], e, now) for d, e in pairs if d in orgs]
    if not rows:
        return []
    inserted = set(
        (await db.execute(insert_statement(dialect).returning(Event.__table__.c.id), rows))
        .scalars()
        .all()
    )
    return [r for r in rows if r["id"] in inserted]
