"""Access audit (P15): every read of one person's data by someone else is recorded, and the
person sees those records in their export."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import String
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
    for device_id, driver_id, organization_id in rows.all():
        record(
            db,
            subject=driver_id,
            actor=caller.user.id,
            role=str(caller.roles.get(organization_id, "")),
            action=action,
            resource=f"device:{device_id}",
            now=now,
        )
