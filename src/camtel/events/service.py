"""Reading events, scoped to the devices the caller may see."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.accounts.caller import Caller
from camtel.devices.models import Device
from camtel.devices.service import visible_devices
from camtel.events.models import Event


async def list_events(
    db: AsyncSession,
    *,
    caller: Caller,
    start: datetime,
    end: datetime,
    limit: int,
    device_id: uuid.UUID | None = None,
    types: list[str] | None = None,
    urgent: bool | None = None,
    after: tuple[datetime, uuid.UUID] | None = None,
) -> list[Event]:
    """A page of events of visible devices in [start, end], newest first."""
    visible = visible_devices(caller).with_only_columns(Device.id)
    query = (
        select(Event)
        .where(Event.device_id.in_(visible), Event.time >= start, Event.time <= end)
        .order_by(Event.time.desc(), Event.id.desc())
        .limit(limit + 1)
    )
    if device_id is not None:
        query = query.where(Event.device_id == device_id)
    if types:
        query = query.where(Event.type.in_(types))
    if urgent is not None:
        query = query.where(Event.urgent.is_(urgent))
    if after is not None:
        time, last = after
        query = query.where(or_(Event.time < time, and_(Event.time == time, Event.id < last)))
    return list(await db.scalars(query))
