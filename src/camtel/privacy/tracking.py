"""Whose location a device collects, and whether it may collect it now.

A device tracks its driver, or, without one, the only member of an organisation that is one
person's (their own car); a fleet vehicle with no driver tracks nobody. The gateways' registry
asks this before storing positions, and device media before storing a device's photos and
clips; `camtel.devices.service.tracking_devices` is the same rule from the person's side.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.accounts.models import Membership
from camtel.devices.models import Device
from camtel.privacy import consent
from camtel.privacy.minors import Kind, collection_allowed, collection_allowed_many


async def tracked_person(db: AsyncSession, device: Device) -> uuid.UUID | None:
    """Whose location a device collects: its driver, else the only member of an organisation
    that is one person's (their own car); None for a fleet vehicle with no driver."""
    if device.driver_id is not None:
        return device.driver_id
    members = list(
        await db.scalars(
            select(Membership.user_id)
            .where(Membership.organization_id == device.organization_id)
            .limit(2)
        )
    )
    return members[0] if len(members) == 1 else None


class Tracker(Protocol):
    """What the bulk decisions need of a device (a Device, or a row of these columns)."""

    id: uuid.UUID
    organization_id: uuid.UUID
    driver_id: uuid.UUID | None


async def tracked_people(
    db: AsyncSession, devices: Collection[Tracker]
) -> dict[uuid.UUID, uuid.UUID | None]:
    """`tracked_person` for many devices in at most one query: device id -> person."""
    driverless = {d.organization_id for d in devices if d.driver_id is None}
    only: dict[uuid.UUID, uuid.UUID] = {}
    if driverless:
        alone = (
            select(Membership.organization_id)
            .where(Membership.organization_id.in_(driverless))
            .group_by(Membership.organization_id)
            .having(func.count() == 1)
        )
        rows = await db.execute(
            select(Membership.organization_id, Membership.user_id).where(
                Membership.organization_id.in_(alone)
            )
        )
        only = {organization_id: user_id for organization_id, user_id in rows}
    return {
        d.id: d.driver_id if d.driver_id is not None else only.get(d.organization_id)
        for d in devices
    }


async def may_collect_location(db: AsyncSession, device: Device) -> bool:
    """Whether positions of this device may be stored now: the minors' gate and an erasure
    (`collection_allowed`), then the driver's share_location_with_organisation objection."""
    subject = await tracked_person(db, device)
    if subject is None:
        return True
    if not await collection_allowed(db, subject, Kind.LOCATION):
        return False
    return await consent.location_shared_allowed(db, subject, device.organization_id)


async def may_collect_locations(
    db: AsyncSession, devices: Collection[Tracker]
) -> dict[uuid.UUID, bool]:
    """`may_collect_location` for many devices (a batch of hundreds) in a few queries,
    whatever their number: device id -> whether its positions may be stored now."""
    subjects = await tracked_people(db, devices)
    allowed = await collection_allowed_many(
        db, {s for s in subjects.values() if s is not None}, Kind.LOCATION
    )
    pairs = {
        (subject, d.organization_id)
        for d in devices
        if (subject := subjects[d.id]) is not None and allowed[subject]
    }
    shared = await consent.location_shared_allowed_many(db, pairs)
    out = {}
    for d in devices:
        subject = subjects[d.id]
        out[d.id] = subject is None or (allowed[subject] and shared[(subject, d.organization_id)])
    return out


async def may_collect_video(db: AsyncSession, device: Device) -> bool:
    """Whether photos and clips of this device may be stored now (P20): the minors' gate for
    video of the person it tracks (a minor's only with their guardian's consent)."""
    subject = await tracked_person(db, device)
    return subject is None or await collection_allowed(db, subject, Kind.VIDEO)
