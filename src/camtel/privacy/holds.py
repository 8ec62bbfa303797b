"""Legal holds: an organisation pauses deletion of its own device's or member's data.

A hold lives inside its organisation. It may name only a device of the organisation or one
of its members, and it keeps only data of that organisation:

- a device's rows while the device belongs to the holding organisation;
- a person's rows that carry an organisation (recordings) when it is the holding one;
- a person's rows about a device (inbox items) when the device is the organisation's;
- a person's rows with neither (mail, digest log) while the person is still a member, the
  way an organisation's retention days reach its members' rows.

So a hold never keeps another tenant's data, even one written before these checks existed.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.accounts.models import Membership
from camtel.devices.models import Device
from camtel.errors import Invalid, NotFound
from camtel.privacy.rights_models import LegalHold

log = logging.getLogger(__name__)

#: The one answer for a device or person the organisation does not have, whether it belongs
#: to someone else or does not exist: the answer must not tell which ids exist.
NOT_A_DEVICE = "device_id names no device of this organisation"
NOT_A_MEMBER = "user_id names no member of this organisation"


@dataclass(frozen=True, slots=True)
class Holds:
    """The active holds, already narrowed to what each organisation may keep."""

    #: Devices held by the organisation they belong to.
    devices: frozenset[uuid.UUID] = frozenset()
    #: Organisation -> the people it holds (rows with an organisation or a device).
    people: dict[uuid.UUID, frozenset[uuid.UUID]] = field(default_factory=dict)
    #: People held by an organisation they still belong to (rows with neither).
    members: frozenset[uuid.UUID] = frozenset()


def reach(columns: set[str]) -> str:
    """How a person's hold finds the organisation of a row of a table with these columns:
    "organization", "device" or "membership". Pure."""
    if "organization_id" in columns:
        return "organization"
    if "device_id" in columns:
        return "device"
    return "membership"


def _among(column: Any, ids: Any) -> ColumnElement[bool]:
    # `IS NOT NULL` first: a row without the column is then plainly not held (NOT of a NULL
    # comparison would be NULL, and the sweeper would keep the row forever).
    return and_(column.is_not(None), column.in_(ids))


def held_rows(table: Any, held_by: str, holds: Holds) -> ColumnElement[bool] | None:
    """The rows of `table` the holds keep, given the column its rule names; None: none."""
    if held_by == "device_id":
        return _among(table.c.device_id, holds.devices) if holds.devices else None
    if held_by != "user_id":
        return None
    how = reach(set(table.c.keys()))
    if how == "membership":
        return _among(table.c.user_id, holds.members) if holds.members else None
    clauses = []
    for org, people in holds.people.items():
        if how == "organization":
            inside = _among(table.c.organization_id, [org])
        else:
            inside = _among(
                table.c.device_id, select(Device.id).where(Device.organization_id == org)
            )
        clauses.append(and_(_among(table.c.user_id, people), inside))
    return or_(*clauses) if clauses else None


def media_held(media: Any, holds: Holds) -> ColumnElement[bool]:
    """Recordings the holds keep: of a held device, or uploaded by a held person, each in
    the holding organisation."""
    clauses: list[ColumnElement[bool]] = []
    if holds.devices:
        clauses.append(_among(media.device_id, holds.devices))
    for org, people in holds.people.items():
        clauses.append(and_(media.organization_id == org, media.owner_id.in_(people)))
    return or_(*clauses) if clauses else false()


async def active(db: AsyncSession) -> Holds:
    """The holds not released, each narrowed to its own organisation."""
    live = LegalHold.released_at.is_(None)
    devices = await db.scalars(
        select(LegalHold.device_id)
        .join(
            Device,
            and_(
                Device.id == LegalHold.device_id,
                Device.organization_id == LegalHold.organization_id,
            ),
        )
        .where(live)
    )
    rows = await db.execute(
        select(LegalHold.organization_id, LegalHold.user_id, Membership.user_id)
        .outerjoin(
            Membership,
            and_(
                Membership.user_id == LegalHold.user_id,
                Membership.organization_id == LegalHold.organization_id,
            ),
        )
        .where(live, LegalHold.user_id.is_not(None))
    )
    people: dict[uuid.UUID, set[uuid.UUID]] = {}
    members: set[uuid.UUID] = set()
    for org, person, member in rows.all():
        assert person is not None  # the query keeps holds on a person only
        people.setdefault(org, set()).add(person)
        if member is not None:
            members.add(person)
    return Holds(
        devices=cast("frozenset[uuid.UUID]", frozenset(devices)),  # the join drops NULLs
        people={org: frozenset(who) for org, who in people.items()},
        members=frozenset(members),
    )


async def place(
    db: AsyncSession,
    *,
    organization_id: uuid.UUID,
    device_id: uuid.UUID | None,
    user_id: uuid.UUID | None,
    reason: str,
    now: datetime,
) -> LegalHold:
    """Hold one of the organisation's devices or members; anything else is Invalid, the same
    for another organisation's id as for an unknown one."""
    if (device_id is None) == (user_id is None):
        raise Invalid("name exactly one of device_id or user_id")
    if device_id is not None:
        device = await db.get(Device, device_id)
        if device is None or device.organization_id != organization_id:
            raise Invalid(NOT_A_DEVICE, field="device_id")
    if user_id is not None and await db.get(Membership, (user_id, organization_id)) is None:
        raise Invalid(NOT_A_MEMBER, field="user_id")
    hold = LegalHold(
        organization_id=organization_id,
        device_id=device_id,
        user_id=user_id,
        reason=reason,
        created_at=now,
    )
    db.add(hold)
    await db.flush()
    log.info("legal hold placed", extra={"hold": str(hold.id)})
    return hold


async def release(
    db: AsyncSession, *, organization_id: uuid.UUID, hold_id: uuid.UUID, now: datetime
) -> None:
    """End one of the organisation's holds; the record stays."""
    hold = await db.get(LegalHold, hold_id)
    if hold is None or hold.organization_id != organization_id:
        raise NotFound("legal hold not found")
    hold.released_at = hold.released_at or now


async def of_organization(db: AsyncSession, organization_id: uuid.UUID) -> list[LegalHold]:
    """The organisation's holds: those in force first, then released ones, newest first."""
    rows = await db.scalars(
        select(LegalHold)
        .where(LegalHold.organization_id == organization_id)
        .order_by(LegalHold.released_at.is_not(None), LegalHold.created_at.desc())
        .limit(1000)
    )
    return list(rows)
