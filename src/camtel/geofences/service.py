"""Geofence operations, each scoped to the caller's organisations and role."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.accounts.caller import Caller
from camtel.accounts.roles import can_manage_devices
from camtel.devices.models import Device, DeviceGroup
from camtel.devices.service import _managing_org, visible_devices
from camtel.errors import Invalid, NotFound
from camtel.geofences import geometry, schedule
from camtel.geofences.models import BREACH_ON, Geofence, GeofenceDevice, GeofenceGroup

#: Fields that change the shape together: a PATCH re-checks them as one.
SHAPE_FIELDS = ("area", "radius_m", "width_m")


@dataclass(slots=True)
class FenceView:
    """A fence with its links, as the API shows it."""

    fence: Geofence
    device_ids: list[uuid.UUID]
    group_ids: list[uuid.UUID]


def check_shape(area: Any, radius_m: float | None, width_m: float | None) -> geometry.Shape:
    """The checked shape, or Invalid naming the field and what is wrong. CPU work (a long
    corridor is buffered piece by piece, up to ~0.4 s): the API calls it in a thread."""
    try:
        return geometry.parse(area, radius_m=radius_m, width_m=width_m)
    except geometry.GeometryError as exc:
        message = str(exc)
        field = (
            "radius_m" if "radius_m" in message else "width_m" if "width_m" in message else ("area")
        )
        raise Invalid(message, field=field) from None


def _check_schedule(raw: Any) -> dict[str, Any] | None:
    try:
        return schedule.check(raw)
    except schedule.ScheduleError as exc:
        raise Invalid(str(exc), field="schedule") from None


def _check_breach(value: str | None) -> str | None:
    if value is not None and value not in BREACH_ON:
        raise Invalid(f"breach_on must be one of {', '.join(BREACH_ON)} or null", field="breach_on")
    return value


async def _check_devices(
    db: AsyncSession, caller: Caller, organization_id: uuid.UUID, device_ids: list[uuid.UUID]
) -> list[uuid.UUID]:
    wanted = list(dict.fromkeys(device_ids))
    if not wanted:
        return []
    found = set(
        await db.scalars(
            visible_devices(caller)
            .with_only_columns(Device.id)
            .where(Device.id.in_(wanted), Device.organization_id == organization_id)
        )
    )
    missing = [d for d in wanted if d not in found]
    if missing:
        raise Invalid(
            f"device {missing[0]} is not a device of the fence's organisation that you can see",
            field="device_ids",
        )
    return wanted


async def _check_groups(
    db: AsyncSession, organization_id: uuid.UUID, group_ids: list[uuid.UUID]
) -> list[uuid.UUID]:
    wanted = list(dict.fromkeys(group_ids))
    if not wanted:
        return []
    found = set(
        await db.scalars(
            select(DeviceGroup.id).where(
                DeviceGroup.id.in_(wanted), DeviceGroup.organization_id == organization_id
            )
        )
    )
    missing = [g for g in wanted if g not in found]
    if missing:
        raise Invalid(
            f"group {missing[0]} is not a group of the fence's organisation", field="group_ids"
        )
    return wanted


async def _links(
    db: AsyncSession, fence_ids: list[uuid.UUID]
) -> tuple[dict[uuid.UUID, list[uuid.UUID]], dict[uuid.UUID, list[uuid.UUID]]]:
    devices: dict[uuid.UUID, list[uuid.UUID]] = {f: [] for f in fence_ids}
    groups: dict[uuid.UUID, list[uuid.UUID]] = {f: [] for f in fence_ids}
    if not fence_ids:
        return devices, groups
    for fence, device in await db.execute(
        select(GeofenceDevice.geofence_id, GeofenceDevice.device_id)
        .where(GeofenceDevice.geofence_id.in_(fence_ids))
        .order_by(GeofenceDevice.device_id)
    ):
        devices[fence].append(device)
    for fence, group in await db.execute(
        select(GeofenceGroup.geofence_id, GeofenceGroup.group_id)
        .where(GeofenceGroup.geofence_id.in_(fence_ids))
        .order_by(GeofenceGroup.group_id)
    ):
        groups[fence].append(group)
    return devices, groups


async def _view(db: AsyncSession, fence: Geofence) -> FenceView:
    devices, groups = await _links(db, [fence.id])
    return FenceView(fence, devices[fence.id], groups[fence.id])


async def _set_links(
    db: AsyncSession,
    fence_id: uuid.UUID,
    device_ids: list[uuid.UUID] | None,
    group_ids: list[uuid.UUID] | None,
) -> None:
    if device_ids is not None:
        await db.execute(delete(GeofenceDevice).where(GeofenceDevice.geofence_id == fence_id))
        db.add_all(GeofenceDevice(geofence_id=fence_id, device_id=d) for d in device_ids)
    if group_ids is not None:
        await db.execute(delete(GeofenceGroup).where(GeofenceGroup.geofence_id == fence_id))
        db.add_all(GeofenceGroup(geofence_id=fence_id, group_id=g) for g in group_ids)
    await db.flush()


async def create(
    db: AsyncSession,
    *,
    caller: Caller,
    name: str,
    area: Any,
    now: datetime,
    radius_m: float | None = None,
    width_m: float | None = None,
    device_ids: list[uuid.UUID] | None = None,
    group_ids: list[uuid.UUID] | None = None,
    speed_limit_kmh: float | None = None,
    schedule: Any = None,
    breach_on: str | None = None,
    organization_id: uuid.UUID | None = None,
) -> FenceView:
    """A new fence in an organisation the caller manages devices of."""
    org = _managing_org(caller, organization_id)
    shape = await asyncio.to_thread(check_shape, area, radius_m, width_m)
    checked_schedule = _check_schedule(schedule)
    _check_breach(breach_on)
    devices = await _check_devices(db, caller, org, device_ids or [])
    groups = await _check_groups(db, org, group_ids or [])
    fence = Geofence(
        organization_id=org,
        name=name.strip(),
        kind=shape.kind,
        geometry=shape.area,
        radius_m=shape.radius_m,
        width_m=shape.width_m,
        speed_limit_kmh=speed_limit_kmh,
        schedule=checked_schedule,
        breach_on=breach_on,
        created_at=now,
        updated_at=now,
    )
    db.add(fence)
    await db.flush()
    await _set_links(db, fence.id, devices, groups)
    return FenceView(fence, devices, groups)


async def _readable(db: AsyncSession, caller: Caller, fence_id: uuid.UUID) -> Geofence:
    fence = await db.get(Geofence, fence_id)
    if fence is None or fence.organization_id not in caller.roles:
        raise NotFound("geofence not found")  # never Forbidden: no existence leak
    return fence


async def _editable(db: AsyncSession, caller: Caller, fence_id: uuid.UUID, action: str) -> Geofence:
    fence = await _readable(db, caller, fence_id)
    role = caller.roles[fence.organization_id]
    caller.require(fence.organization_id, can_manage_devices(role), action)
    return fence


async def get(db: AsyncSession, *, caller: Caller, fence_id: uuid.UUID) -> FenceView:
    """One fence of an organisation the caller belongs to (any role reads)."""
    view = await _view(db, await _readable(db, caller, fence_id))
    return (await _as_seen_by(db, caller, [view]))[0]


async def list_fences(
    db: AsyncSession,
    *,
    caller: Caller,
    limit: int,
    after: uuid.UUID | None = None,
    organization_id: uuid.UUID | None = None,
) -> list[FenceView]:
    """A page of the fences of the caller's organisations in creation order (`limit + 1`)."""
    if not caller.roles:
        return []
    orgs = [organization_id] if organization_id is not None else list(caller.roles)
    query = (
        select(Geofence)
        .where(Geofence.organization_id.in_([o for o in orgs if o in caller.roles]))
        .order_by(Geofence.id)
        .limit(limit + 1)
    )
    if after is not None:
        query = query.where(Geofence.id > after)
    fences = list(await db.scalars(query))
    devices, groups = await _links(db, [f.id for f in fences])
    views = [FenceView(f, devices[f.id], groups[f.id]) for f in fences]
    return await _as_seen_by(db, caller, views)


async def _as_seen_by(db: AsyncSession, caller: Caller, views: list[FenceView]) -> list[FenceView]:
    """The fences with only the devices the caller may see among those they name: a driver
    learns nothing of the organisation's other vehicles, not even their ids."""
    named = {d for view in views for d in view.device_ids}
    if not named:
        return views
    seen = set(
        await db.scalars(
            visible_devices(caller).with_only_columns(Device.id).where(Device.id.in_(named))
        )
    )
    for view in views:
        view.device_ids = [d for d in view.device_ids if d in seen]
    return views


async def update(
    db: AsyncSession, *, caller: Caller, fence_id: uuid.UUID, changes: dict[str, Any], now: datetime
) -> FenceView:
    """Change a fence; a new area, radius or width is checked together with the others."""
    fence = await _editable(db, caller, fence_id, "change geofences")
    if any(k in changes for k in SHAPE_FIELDS):
        area = changes.get("area", fence.geometry)
        kind_changes = "area" in changes
        radius = changes.get("radius_m", None if kind_changes else fence.radius_m)
        width = changes.get("width_m", None if kind_changes else fence.width_m)
        shape = await asyncio.to_thread(check_shape, area, radius, width)
        fence.kind, fence.geometry = shape.kind, shape.area
        fence.radius_m, fence.width_m = shape.radius_m, shape.width_m
    if "name" in changes:
        fence.name = changes["name"].strip()
    if "speed_limit_kmh" in changes:
        fence.speed_limit_kmh = changes["speed_limit_kmh"]
    if "schedule" in changes:
        fence.schedule = _check_schedule(changes["schedule"])
    if "breach_on" in changes:
        fence.breach_on = _check_breach(changes["breach_on"])
    devices = groups = None
    if "device_ids" in changes:
        devices = await _check_devices(
            db, caller, fence.organization_id, changes["device_ids"] or []
        )
    if "group_ids" in changes:
        groups = await _check_groups(db, fence.organization_id, changes["group_ids"] or [])
    fence.updated_at = now
    await db.flush()
    await _set_links(db, fence.id, devices, groups)
    return await _view(db, fence)


async def remove(db: AsyncSession, *, caller: Caller, fence_id: uuid.UUID) -> uuid.UUID:
    """Delete a fence (its links go with it); returns its organisation."""
    fence = await _editable(db, caller, fence_id, "delete geofences")
    await db.execute(delete(GeofenceDevice).where(GeofenceDevice.geofence_id == fence.id))
    await db.execute(delete(GeofenceGroup).where(GeofenceGroup.geofence_id == fence.id))
    await db.delete(fence)
    await db.flush()
    return fence.organization_id


async def organization_fences(db: AsyncSession, organization_id: uuid.UUID) -> list[FenceView]:
    """Every fence of an organisation with its links (the pipeline's cache loads these)."""
    fences = list(
        await db.scalars(
            select(Geofence)
            .where(Geofence.organization_id == organization_id)
            .order_by(Geofence.id)
        )
    )
    devices, groups = await _links(db, [f.id for f in fences])
    return [FenceView(f, devices[f.id], groups[f.id]) for f in fences]
