"""Organisations and their members: who belongs where, with which role (people join by
accepting an invitation: `camtel.accounts.invitations`)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.accounts.caller import Caller
from camtel.accounts.models import Membership, Organization, User
from camtel.accounts.roles import Role, can_manage_members
from camtel.errors import Forbidden, Invalid, NotFound


async def list_for(db: AsyncSession, *, caller: Caller) -> list[tuple[Organization, Role]]:
    """The organisations the caller belongs to, with their role in each."""
    if not caller.roles:
        return []
    rows = await db.scalars(
        select(Organization).where(Organization.id.in_(caller.roles)).order_by(Organization.id)
    )
    return [(org, caller.roles[org.id]) for org in rows]


async def create(db: AsyncSession, *, caller: Caller, name: str, now: datetime) -> Organization:
    """A new organisation with the caller as its owner."""
    org = Organization(name=name.strip(), created_at=now)
    db.add(org)
    await db.flush()
    db.add(
        Membership(user_id=caller.user.id, organization_id=org.id, role=Role.OWNER, created_at=now)
    )
    caller.roles[org.id] = Role.OWNER
    return org


async def members(
    db: AsyncSession, *, caller: Caller, organization_id: uuid.UUID
) -> list[tuple[User, Role]]:
    """Everyone in an organisation the caller belongs to."""
    caller.role_in(organization_id)
    rows = await db.execute(
        select(User, Membership.role)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.organization_id == organization_id)
        .order_by(User.id)
    )
    return [(user, Role(role)) for user, role in rows]


async def set_role(
    db: AsyncSession, *, caller: Caller, organization_id: uuid.UUID, user_id: uuid.UUID, role: Role
) -> None:
    """Change a member's role; an organisation always keeps at least one owner."""
    mine = caller.role_in(organization_id)
    if not can_manage_members(mine):
        raise Forbidden(f"a {mine} may not change roles")
    membership = await db.get(Membership, (user_id, organization_id))
    if membership is None:
        raise NotFound("member not found")
    if membership.role == Role.OWNER and role != Role.OWNER:
        await _keep_an_owner(db, organization_id)
    membership.role = role


async def remove_member(
    db: AsyncSession, *, caller: Caller, organization_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    """Remove someone from an organisation (anyone may leave; owners remove others)."""
    mine = caller.role_in(organization_id)
    if user_id != caller.user.id and not can_manage_members(mine):
        raise Forbidden(f"a {mine} may not remove members")
    membership = await db.get(Membership, (user_id, organization_id))
    if membership is None:
        raise NotFound("member not found")
    if membership.role == Role.OWNER:
        await _keep_an_owner(db, organization_id)
    await db.delete(membership)


async def _keep_an_owner(db: AsyncSession, organization_id: uuid.UUID) -> None:
    owners = await db.scalar(
        select(func.count())
        .select_from(Membership)
        .where(Membership.organization_id == organization_id, Membership.role == Role.OWNER)
    )
    if (owners or 0) <= 1:
        raise Invalid("an organisation needs at least one owner")
