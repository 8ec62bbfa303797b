"""What belongs to one person right now: their own organisations and devices, and the
devices they drive. Export and erasure read each registered table's `Link` against it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.accounts.models import Membership
from camtel.devices.models import Device
from camtel.privacy.registry import Link


@dataclass(slots=True)
class Scope:
    """What belongs to one person: their own organisations (sole member) and devices."""

    user_id: uuid.UUID
    own_orgs: set[uuid.UUID] = field(default_factory=set)
    shared_orgs: set[uuid.UUID] = field(default_factory=set)
    own_devices: set[uuid.UUID] = field(default_factory=set)
    driven_devices: set[uuid.UUID] = field(default_factory=set)

    def ids_for(self, link: Link, *, for_export: bool) -> set[uuid.UUID] | None:
        """The ids the link's column must hold; None means "not linked"."""
        if link.kind in ("self", "user"):
            return {self.user_id}
        if link.kind == "org":
            return set(self.own_orgs)
        if link.kind == "device":
            # A driver's trips in a fleet are theirs to see, but the fleet keeps them.
            return self.own_devices | (self.driven_devices if for_export else set())
        return None


async def scope_of(db: AsyncSession, user_id: uuid.UUID) -> Scope:
    """Work out what belongs to a person right now."""
    scope = Scope(user_id=user_id)
    orgs = list(
        await db.scalars(select(Membership.organization_id).where(Membership.user_id == user_id))
    )
    for org in orgs:
        members = list(
            await db.scalars(select(Membership.user_id).where(Membership.organization_id == org))
        )
        (scope.own_orgs if members == [user_id] else scope.shared_orgs).add(org)
    if scope.own_orgs:
        scope.own_devices = set(
            await db.scalars(select(Device.id).where(Device.organization_id.in_(scope.own_orgs)))
        )
    scope.driven_devices = (
        set(await db.scalars(select(Device.id).where(Device.driver_id == user_id)))
        - scope.own_devices
    )
    return scope
