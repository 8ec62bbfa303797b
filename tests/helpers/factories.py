"""Rows made directly in the database, for tests about what happens *after* people, fleets and
fixes exist (not about how they came to: `helpers.accounts.sign_up` goes through the API).

Each factory adds to the session it is given and flushes, so ids are known and the caller's
transaction decides what is kept. Defaults are plausible and unique per call where the schema
asks for it (emails, unique ids).
"""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from camtel.accounts.models import Membership, Organization, User
from camtel.db.base import utcnow
from camtel.devices.models import Device, Position

_serial = itertools.count(1)


async def person(
    db: AsyncSession,
    email: str | None = None,
    *,
    phone: str = "+4915123456789",
    verified: bool = True,
    **fields: object,
) -> User:
    """A person with an account (no usable password: sign in through `sign_up` instead)."""
    user = User(
        email=email or f"person-{next(_serial)}@example.com",
        phone=phone,
        password_hash="!",
        email_verified_at=utcnow() if verified else None,
        **fields,
    )
    db.add(user)
    await db.flush()
    return user


async def organization(
    db: AsyncSession, name: str = "Fleet", *, members: dict[User, str] | None = None
) -> Organization:
    """An organisation, with its members by role ("owner", "manager", "driver", "viewer")."""
    org = Organization(name=name)
    db.add(org)
    await db.flush()
    for user, role in (members or {}).items():
        db.add(Membership(user_id=user.id, organization_id=org.id, role=role))
    await db.flush()
    return org


async def device(
    db: AsyncSession,
    org: Organization | uuid.UUID,
    *,
    name: str = "Van",
    protocol: str = "osmand",
    unique_id: str | None = None,
    **fields: object,
) -> Device:
    """A device of an organisation."""
    made = Device(
        organization_id=org if isinstance(org, uuid.UUID) else org.id,
        name=name,
        protocol=protocol,
        unique_id=unique_id or f"{900000000000 + next(_serial)}",
        **fields,
    )
    db.add(made)
    await db.flush()
    return made


async def position(
    db: AsyncSession,
    of: Device | uuid.UUID,
    time: datetime,
    *,
    latitude: float = 52.52,
    longitude: float = 13.405,
    **fields: object,
) -> Position:
    """One stored fix of a device (received when it was taken unless `server_time` says)."""
    fields.setdefault("server_time", time)
    fields.setdefault("dedup", next(_serial))
    fix = Position(
        device_id=of if isinstance(of, uuid.UUID) else of.id,
        time=time,
        latitude=latitude,
        longitude=longitude,
        **fields,
    )
    db.add(fix)
    await db.flush()
    return fix
