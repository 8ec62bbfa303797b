"""Access audit (P15): every read of one person's data by someone else is recorded, and the
person sees those records in their export."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import String, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from camtel.db.base import Base, IdMixin

if TYPE_CHECKING:
    from camtel.accounts.caller import Caller


class AccessAudit(IdMixin, Base):
    """Someone read a person's data: who, what, when (no copy of the data itself)."""

    __tablename__ = "access_audit"

    subject_user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    actor_user_id: Mapped[uuid.UUID | None]
    actor_role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    resource: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime]


def needs_audit(*, subject: uuid.UUID | None, actor: uuid.UUID) -> bool:
    """A read is audited when the data is a person's and the reader is someone else."""
    return subject is not None and subject != actor


def record(
    db: AsyncSession,
    *,
    subject: uuid.UUID | None,
    actor: uuid.UUID,
    role: str,
    action: str,
    resource: str,
    now: datetime,
) -> None:
    """Add an audit row in the reader's transaction, when the read is of someone else."""
    if needs_audit(subject=subject, actor=actor):
        assert subject is not None
        db.add(
            AccessAudit(
                subject_user_id=subject,
                actor_user_id=actor,
                actor_role=role,
                action=action,
                resource=resource,
                at=now,
            )
        )


async def record_device_reads(
    db: AsyncSession,
    *,
    caller: Caller,
    device_ids: Iterable[uuid.UUID | None],
    action: str,
    now: datetime,
) -> None:
    """Audit a read of the data of devices the caller may see, for each one that has a driver
    other than the caller (the driver is the person whose data was read)."""
    from camtel.devices.models import Device
    from camtel.devices.service import visible_devices

    ids = {i for i in device_ids if i is not None}
    if not ids:
        return
    rows = await db.execute(
        visible_devices(caller)
        .with_only_columns(Device.id, Device.driver_id, Device.organization_id)
        .where(Device.id.in_(ids), Device.driver_id.is_not(None))
    )
    record_reads_of(db, caller=caller, devices=rows.all(), action=action, now=now)


def record_reads_of(
    db: AsyncSession,
    *,
    caller: Caller,
    devices: Iterable[tuple[uuid.UUID, uuid.UUID | None, uuid.UUID]],
    action: str,
    now: datetime,
) -> None:
    """Audit a read of devices the caller was just shown, given as (device id, driver id,
    organisation id) rows the caller's own query returned: one entry per device whose driver
    is someone else (no second query when the list is already at hand)."""
    for device_id, driver_id, organization_id in devices:
        if driver_id is None:
            continue
        record(
            db,
            subject=driver_id,
            actor=caller.user.id,
            role=str(caller.roles.get(organization_id, "")),
            action=action,
            resource=f"device:{device_id}",
            now=now,
        )


@dataclass(frozen=True, slots=True)
class Read:
    """One read of a person's data as they are shown it: who (their name and role), what, when."""

    id: uuid.UUID
    at: datetime
    actor_name: str  # the reader's display name; "" when they gave none
    actor_known: bool  # False once the reader's account is gone
    actor_role: str  # their role in the device's organisation ("" for an operator)
    action: str
    device_id: uuid.UUID | None
    device_name: str | None  # None once the device is gone


def device_of(resource: str) -> uuid.UUID | None:
    """The device a `device:<id>` resource names; None for anything else. Pure."""
    kind, _, value = resource.partition(":")
    if kind != "device":
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


async def reads_of(
    db: AsyncSession,
    *,
    subject: uuid.UUID,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None = None,
) -> list[Read]:
    """A page of the reads of this person's data by others, newest first (one extra row tells
    of a next page). Only the person's own rows: the subject is the caller, never a parameter
    someone else chooses."""
    from camtel.accounts.models import User
    from camtel.devices.models import Device

    query = (
        select(AccessAudit, User.id, User.display_name)
        .outerjoin(User, User.id == AccessAudit.actor_user_id)
        .where(AccessAudit.subject_user_id == subject)
        .order_by(AccessAudit.at.desc(), AccessAudit.id.desc())
        .limit(limit + 1)
    )
    if after is not None:
        at, last = after
        query = query.where(
            or_(AccessAudit.at < at, and_(AccessAudit.at == at, AccessAudit.id < last))
        )
    rows = (await db.execute(query)).all()
    devices = {device_of(row.resource) for row, _id, _name in rows} - {None}
    names = (
        dict((await db.execute(select(Device.id, Device.name).where(Device.id.in_(devices)))).all())
        if devices
        else {}
    )
    out = []
    for row, actor_id, actor_name in rows:
        device_id = device_of(row.resource)
        out.append(
            Read(
                id=row.id,
                at=row.at,
                actor_name=actor_name or "",
                actor_known=actor_id is not None,
                actor_role=row.actor_role,
                action=row.action,
                device_id=device_id,
                device_name=names.get(device_id) if device_id else None,
            )
        )
    return out
