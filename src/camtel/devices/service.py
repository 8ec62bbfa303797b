"""Device operations, each scoped to what the caller may see and do."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Row, Select, and_, delete, false, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from camtel.accounts.caller import Caller
from camtel.accounts.models import Membership
from camtel.accounts.roles import can_manage_devices, sees_all_devices
from camtel.devices import position_attributes
from camtel.devices.identity import normalise_unique_id, unique_id_problem
from camtel.devices.models import Device, DeviceGroup, LatestPosition, PendingDevice, Position
from camtel.errors import Conflict, Forbidden, Invalid, NotFound


def visible_devices(caller: Caller) -> Select[Device]:
    """Devices the caller may see: all of an organisation's, or a driver's own."""
    whole = [org for org, role in caller.roles.items() if sees_all_devices(role)]
    driving = [org for org, role in caller.roles.items() if not sees_all_devices(role)]
    conditions: list[ColumnElement[bool]] = []
    if whole:
        conditions.append(Device.organization_id.in_(whole))
    if driving:
        conditions.append(
            and_(Device.organization_id.in_(driving), Device.driver_id == caller.user.id)
        )
    if not conditions:
        return select(Device).where(false())
    return select(Device).where(or_(*conditions))


async def get(db: AsyncSession, *, caller: Caller, device_id: uuid.UUID) -> Device:
    """One device the caller may see, or NotFound (never Forbidden: no existence leak)."""
    device = await db.scalar(visible_devices(caller).where(Device.id == device_id))
    if device is None:
        raise NotFound("device not found")
    return device


def _managing_org(caller: Caller, organization_id: uuid.UUID | None) -> uuid.UUID:
    if organization_id is None:
        managed = [org for org, role in caller.roles.items() if can_manage_devices(role)]
        if not managed:
            raise Forbidden("you manage no organisation; ask an owner for the manager role")
        return min(managed)  # the oldest organisation (UUID v7 orders by creation)
    role = caller.role_in(organization_id)
    caller.require(organization_id, can_manage_devices(role), "manage devices")
    return organization_id


async def _check_group(
    db: AsyncSession, organization_id: uuid.UUID, group_id: uuid.UUID | None
) -> None:
    if group_id is None:
        return
    group = await db.get(DeviceGroup, group_id)
    if group is None or group.organization_id != organization_id:
        raise Invalid("group not found in the device's organisation", field="group_id")


async def _check_driver(
    db: AsyncSession, organization_id: uuid.UUID, driver_id: uuid.UUID | None
) -> None:
    if driver_id is None:
        return
    if await db.get(Membership, (driver_id, organization_id)) is None:
        raise Invalid("the driver is not a member of the device's organisation", field="driver_id")


async def create(
    db: AsyncSession,
    *,
    caller: Caller,
    name: str,
    unique_id: str,
    protocol: str,
    now: datetime,
    organization_id: uuid.UUID | None = None,
    group_id: uuid.UUID | None = None,
    driver_id: uuid.UUID | None = None,
    attributes: dict[str, Any] | None = None,
) -> Device:
    """Register a device; claims it from the pending list when it already called in."""
    unique_id = normalise_unique_id(protocol, unique_id)
    problem = unique_id_problem(protocol, unique_id)
    if problem:
        raise Invalid(problem, field="unique_id")
    org = _managing_org(caller, organization_id)
    await _check_group(db, org, group_id)
    await _check_driver(db, org, driver_id)
    taken = await db.scalar(
        select(Device.id).where(Device.protocol == protocol, Device.unique_id == unique_id)
    )
    if taken is not None:
        raise Conflict(
            f"a {protocol} device with this unique_id is already registered", field="unique_id"
        )
    device = Device(
        organization_id=org,
        group_id=group_id,
        driver_id=driver_id,
        name=name.strip(),
        unique_id=unique_id,
        protocol=protocol,
        attributes=attributes or {},
        created_at=now,
    )
    db.add(device)
    try:
        await db.flush()
    except IntegrityError:
        raise Conflict(
            f"a {protocol} device with this unique_id is already registered", field="unique_id"
        ) from None
    await db.execute(
        delete(PendingDevice).where(
            PendingDevice.protocol == protocol, PendingDevice.unique_id == unique_id
        )
    )
    return device


async def update(
    db: AsyncSession, *, caller: Caller, device_id: uuid.UUID, changes: dict[str, Any]
) -> Device:
    """Rename, regroup, assign a driver or change attributes of a device."""
    device = await get(db, caller=caller, device_id=device_id)
    role = caller.role_in(device.organization_id)
    caller.require(device.organization_id, can_manage_devices(role), "change devices")
    if "group_id" in changes:
        await _check_group(db, device.organization_id, changes["group_id"])
    if "driver_id" in changes:
        await _check_driver(db, device.organization_id, changes["driver_id"])
    for key, value in changes.items():
        setattr(device, key, value.strip() if key == "name" else value)
    await db.flush()
    return device


async def remove(db: AsyncSession, *, caller: Caller, device_id: uuid.UUID) -> None:
    """Delete a device and, with it, its positions."""
    device = await get(db, caller=caller, device_id=device_id)
    role = caller.role_in(device.organization_id)
    caller.require(device.organization_id, can_manage_devices(role), "delete devices")
    await db.execute(delete(LatestPosition).where(LatestPosition.device_id == device.id))
    await db.execute(delete(Position).where(Position.device_id == device.id))
    await db.delete(device)


async def list_devices(
    db: AsyncSession,
    *,
    caller: Caller,
    limit: int,
    after: uuid.UUID | None = None,
    group_id: uuid.UUID | None = None,
) -> list[Device]:
    """A page of visible devices in creation order (`limit + 1` rows tell if more exist)."""
    query = visible_devices(caller).order_by(Device.id).limit(limit + 1)
    if after is not None:
        query = query.where(Device.id > after)
    if group_id is not None:
        query = query.where(Device.group_id == group_id)
    return list(await db.scalars(query))


#: What a position answer shows, read as plain rows (a day is thousands of fixes): these
#: columns, then the ones `position_attributes.unpack` makes the attributes of.
POSITION_COLUMNS = (
    Position.time,
    Position.latitude,
    Position.longitude,
    Position.speed_kmh,
    Position.course,
    Position.altitude,
    Position.accuracy_m,
    Position.valid,
    Position.source,
)
#: Selected after the shown columns: the key's last part (for cursors), then the columns
#: the attributes are made of.
_AFTER = (Position.dedup, *(getattr(Position, name) for name in position_attributes.COLUMNS))


def shown(
    rows: Sequence[Sequence[Any]],
    *,
    head: Sequence[str | None] = (),
    extra: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Rows of `positions` or `latest_positions` as what a position answer shows: the
    leading columns named in `head` (a None name is left out), `POSITION_COLUMNS`, and the
    fix's `attributes` put back together (`extra`, when given, passes on each row's free-form
    part first)."""
    names = (*head, *(c.key for c in POSITION_COLUMNS))
    plain = len(names)
    hidden = None in names
    unpack = position_attributes.unpack
    out: list[dict[str, Any]] = []
    for row in rows:
        item: dict[str | None, Any] = dict(zip(names, row[:plain], strict=True))
        if hidden:
            del item[None]
        packed = tuple(row[plain + 1 :])  # a Row's slice is one already: no copy
        if extra is not None and packed[-1] is not None:
            packed = (*packed[:-1], extra(packed[-1]))
        item["attributes"] = unpack(packed)
        out.append(cast("dict[str, Any]", item))  # no None key left
    return out


async def positions(
    db: AsyncSession,
    *,
    caller: Caller,
    device_id: uuid.UUID,
    start: datetime,
    end: datetime,
    limit: int,
    after: tuple[datetime, int] | None = None,
) -> list[Row[Any]]:
    """A page of a visible device's positions in [start, end], oldest first (by time, then
    the dedup key: the table's own order); `shown` makes them answers."""
    device = await get(db, caller=caller, device_id=device_id)
    query = (
        select(*POSITION_COLUMNS, *_AFTER)
        .where(Position.device_id == device.id, Position.time >= start, Position.time <= end)
        .order_by(Position.time, Position.dedup)
        .limit(limit + 1)
    )
    if after is not None:
        time, last = after
        query = query.where(
            or_(Position.time > time, and_(Position.time == time, Position.dedup > last))
        )
    return list(await _rows(db, query))


async def _rows(db: AsyncSession, query: Select[*tuple[Any, ...]]) -> Sequence[Row[Any]]:
    """Rows of a select of columns, through the session's connection: the ORM's loading
    machinery costs more than the query for thousands of rows and adds nothing here."""
    return (await (await db.connection()).execute(query)).all()


#: The device columns `latest_positions` gives before the position's, as `shown` takes
#: them: the device's id is shown, its driver and organisation (for the read audit) are not.
LATEST_HEAD = ("device_id", None, None)


def newest_fixes(devices: Select[Any]) -> Select[*tuple[Any, ...]]:
    """The newest position of each of `devices` (a select of `Device`) that has one, after
    the device's id, driver and organisation (`LATEST_HEAD`), in device order. Two seeks into
    the positions key a device. What `devices.latest` keeps ready is made from its rows."""
    newest = (
        select(func.max(Position.time))
        .where(Position.device_id == Device.id)
        .correlate(Device)
        .scalar_subquery()
    )
    latest = aliased(Position)
    last_key = (
        select(func.max(latest.dedup))
        .where(latest.device_id == Position.device_id, latest.time == Position.time)
        .correlate(Position)
        .scalar_subquery()
    )
    head = (Device.id.label("device_id"), Device.driver_id, Device.organization_id)
    return (
        devices.with_only_columns(*head, *POSITION_COLUMNS, *_AFTER)
        .join(
            Position,
            and_(
                Position.device_id == Device.id,
                Position.time == newest,
                Position.dedup == last_key,
            ),
        )
        .order_by(Device.id)
    )


async def latest_positions(db: AsyncSession, *, caller: Caller) -> list[Row[Any]]:
    """The newest position of each visible device that has one, computed from `positions`
    (`newest_fixes`): the source of truth of what `devices.latest` keeps ready."""
    return list(await _rows(db, newest_fixes(visible_devices(caller))))


# Groups


async def list_groups(db: AsyncSession, *, caller: Caller) -> list[DeviceGroup]:
    """Device groups of every organisation the caller belongs to."""
    if not caller.roles:
        return []
    return list(
        await db.scalars(
            select(DeviceGroup)
            .where(DeviceGroup.organization_id.in_(caller.roles))
            .order_by(DeviceGroup.id)
        )
    )


async def create_group(
    db: AsyncSession,
    *,
    caller: Caller,
    name: str,
    now: datetime,
    organization_id: uuid.UUID | None = None,
) -> DeviceGroup:
    """A new device group in an organisation the caller manages."""
    org = _managing_org(caller, organization_id)
    exists = await db.scalar(
        select(DeviceGroup.id).where(
            DeviceGroup.organization_id == org, DeviceGroup.name == name.strip()
        )
    )
    if exists is not None:
        raise Conflict("a group with this name exists", field="name")
    group = DeviceGroup(organization_id=org, name=name.strip(), created_at=now)
    db.add(group)
    await db.flush()
    return group


async def _managed_group(db: AsyncSession, caller: Caller, group_id: uuid.UUID) -> DeviceGroup:
    group = await db.get(DeviceGroup, group_id)
    if group is None or group.organization_id not in caller.roles:
        raise NotFound("group not found")
    role = caller.roles[group.organization_id]
    caller.require(group.organization_id, can_manage_devices(role), "change groups")
    return group


async def rename_group(
    db: AsyncSession, *, caller: Caller, group_id: uuid.UUID, name: str
) -> DeviceGroup:
    """Rename a group."""
    group = await _managed_group(db, caller, group_id)
    group.name = name.strip()
    try:
        await db.flush()
    except IntegrityError:
        raise Conflict("a group with this name exists", field="name") from None
    return group


async def delete_group(db: AsyncSession, *, caller: Caller, group_id: uuid.UUID) -> None:
    """Delete a group; its devices stay, ungrouped."""
    group = await _managed_group(db, caller, group_id)
    await db.delete(group)


# Pending devices


async def note_pending(db: AsyncSession, *, protocol: str, unique_id: str, now: datetime) -> None:
    """Remember a device that called in unregistered (the gateways call this)."""
    row = await db.scalar(
        select(PendingDevice).where(
            PendingDevice.protocol == protocol, PendingDevice.unique_id == unique_id
        )
    )
    if row is None:
        db.add(
            PendingDevice(
                protocol=protocol, unique_id=unique_id, first_seen_at=now, last_seen_at=now
            )
        )
    else:
        row.last_seen_at, row.attempts = now, row.attempts + 1


async def list_pending(
    db: AsyncSession, *, caller: Caller, limit: int, after: uuid.UUID | None = None
) -> list[PendingDevice]:
    """Devices that called in unregistered: operators only, since listing them to every
    tenant would let anyone claim a stranger's device before its owner does."""
    if not caller.user.is_admin:
        raise Forbidden("only operators see pending devices")
    query = select(PendingDevice).order_by(PendingDevice.id).limit(limit + 1)
    if after is not None:
        query = query.where(PendingDevice.id > after)
    return list(await db.scalars(query))


async def tracking_devices(db: AsyncSession, *, user_id: uuid.UUID) -> list[tuple[str, str]]:
    """(protocol, unique_id) of every device whose positions are this person's: the devices
    they drive, and the driverless devices of organisations that are only theirs (the same
    rule as `camtel.privacy.tracking.tracked_person`)."""
    mine = select(Membership.organization_id).where(Membership.user_id == user_id)
    only_mine = (
        select(Membership.organization_id)
        .where(Membership.organization_id.in_(mine))
        .group_by(Membership.organization_id)
        .having(func.count() == 1)
    )
    rows = await db.execute(
        select(Device.protocol, Device.unique_id).where(
            or_(
                Device.driver_id == user_id,
                and_(Device.driver_id.is_(None), Device.organization_id.in_(only_mine)),
            )
        )
    )
    return [(protocol, unique_id) for protocol, unique_id in rows]
