"""Who is calling: the signed-in person, their session and their role in each organisation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.accounts.models import AuthSession, Membership, User
from camtel.accounts.roles import Role
from camtel.errors import Forbidden, NotFound


@dataclass(slots=True)
class Caller:
    """The person behind a request; every query is scoped through this."""

    user: User
    session: AuthSession | None
    roles: dict[uuid.UUID, Role] = field(default_factory=dict)

    def role_in(self, organization_id: uuid.UUID) -> Role:
        """The caller's role in an organisation; NotFound when not a member (no leak)."""
        role = self.roles.get(organization_id)
        if role is None:
            raise NotFound("organization not found")
        return role

    def require(self, organization_id: uuid.UUID, allowed: bool, action: str) -> None:
        """Raise Forbidden with a clear message when the caller's role does not allow it."""
        if not allowed:
            role = self.roles.get(organization_id)
            raise Forbidden(f"a {role} may not {action}")


async def load_caller(db: AsyncSession, *, user: User, session: AuthSession | None) -> Caller:
    """Build the caller with their memberships."""
    rows = await db.execute(
        select(Membership.organization_id, Membership.role).where(Membership.user_id == user.id)
    )
    return Caller(user=user, session=session, roles={org: Role(role) for org, role in rows})
