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
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from camtel.accounts.models import Membership, Organization, User
from camtel.db.base import utcnow
from camtel.devices import latest
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
    # What the store does with each batch: the device's newest fix kept ready for the live map.
    await latest.rebuild(db, devices=[fix.device_id])
    return fix


async def api_token(db: AsyncSession, user: User, *, now: datetime) -> str:
    """A bearer token of the person (an API session, opened without a password)."""
    from datetime import timedelta

    from camtel.accounts.tokens import open_session

    token, _ = await open_session(db, user=user, kind="api", ttl=timedelta(hours=2), now=now)
    return token


async def session_of(db: AsyncSession, token: str) -> uuid.UUID:
    """The id of the session a token opens."""
    from sqlalchemy import select

    from camtel.accounts.models import AuthSession
    from camtel.accounts.tokens import token_hash

    found = await db.scalar(
        select(AuthSession.id).where(AuthSession.token_hash == token_hash(token))
    )
    assert found is not None
    return found


async def personal_objects(
    db: AsyncSession, user: User, *, inviting: Organization, device: Device
) -> dict[str, str]:
    """One of each thing that belongs to a person rather than to an organisation: a
    notification rule, an inbox item (about an event of `device`), a push subscription, an
    export being made and an invitation from `inviting`; their ids by path parameter name."""
    from datetime import timedelta

    from camtel.accounts.models import OrganizationInvitation
    from camtel.notify.models import InboxItem, NotificationRule, PushSubscription
    from camtel.privacy.rights_models import PrivacyRequest

    now, serial = utcnow(), next(_serial)
    happened = await event(db, device, time=now)
    made = {
        "rule_id": NotificationRule(user_id=user.id, channels=["inbox"]),
        "item_id": InboxItem(
            user_id=user.id,
            event_id=happened.id,
            device_id=device.id,
            type="overspeed",
            title="Too fast",
            time=now,
        ),
        "subscription_id": PushSubscription(
            user_id=user.id,
            endpoint=f"https://push.example.com/{serial}",
            p256dh="B" + "A" * 86,
            auth="A" * 22,
        ),
        "request_id": PrivacyRequest(
            kind="export", user_id=user.id, status="processing", due_at=now + timedelta(days=30)
        ),
        "my_invitation_id": OrganizationInvitation(
            organization_id=inviting.id,
            email=user.email,
            role="viewer",
            expires_at=now + timedelta(days=7),
        ),
    }
    db.add_all(made.values())
    await db.flush()
    return {name: str(row.id) for name, row in made.items()}


async def event(db: AsyncSession, of: Device, *, time: datetime, type: str = "overspeed") -> Any:
    """One event of a device (an overspeed unless `type` says)."""
    from camtel.events.models import Event

    made = Event(
        organization_id=of.organization_id,
        device_id=of.id,
        type=type,
        time=time,
        cause=f"factory-{next(_serial)}",
        created_at=time,
    )
    db.add(made)
    await db.flush()
    return made


async def breach(db: AsyncSession, recorded_by: User, *, now: datetime) -> uuid.UUID:
    """A breach in the register (an operator's record)."""
    from datetime import timedelta

    from camtel.privacy.models import Breach

    row = Breach(
        detected_at=now,
        authority_deadline=now + timedelta(hours=72),
        description="A laptop was lost",
        categories=["positions"],
        recorded_by=recorded_by.id,
    )
    db.add(row)
    await db.flush()
    return row.id
