"""Organisations, their members and the invitations that make people members."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, status
from pydantic import Field
from sqlalchemy import select

from camtel.accounts import invitations, organizations
from camtel.accounts.models import OrganizationInvitation
from camtel.accounts.roles import Role
from camtel.api.deps import CallerDep, Db, Svc
from camtel.api.schemas import Out, Strict
from camtel.devices.models import Device

router = APIRouter(prefix="/organizations", tags=["organizations"])


class OrganizationIn(Strict):
    name: str = Field(min_length=1, max_length=120)


class MemberIn(Strict):
    email: str = Field(max_length=254, description="The address to invite; it needs no account.")
    role: Role


class RoleIn(Strict):
    role: Role


@router.get("", summary="Organisations you belong to")
async def list_organizations(caller: CallerDep, db: Db) -> list[dict[str, Any]]:
    return [
        {"id": str(org.id), "name": org.name, "role": str(role)}
        for org, role in await organizations.list_for(db, caller=caller)
    ]


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create an organisation")
async def create_organization(
    body: OrganizationIn, caller: CallerDep, db: Db, services: Svc
) -> dict[str, Any]:
    org = await organizations.create(db, caller=caller, name=body.name, now=services.clock())
    return {"id": str(org.id), "name": org.name, "role": "owner"}


@router.get("/{organization_id}/members", summary="Members and their roles")
async def list_members(organization_id: uuid.UUID, caller: CallerDep, db: Db) -> list[dict]:
    rows = await organizations.members(db, caller=caller, organization_id=organization_id)
    return [
        {
            "user_id": str(user.id),
            "display_name": user.display_name,
            "email": user.email,
            "role": str(role),
        }
        for user, role in rows
    ]


class InvitationOut(Out):
    id: uuid.UUID
    organization_id: uuid.UUID
    email: str
    role: str
    status: str
    expires_at: datetime
    created_at: datetime


async def _invite(
    organization_id: uuid.UUID, body: MemberIn, caller: CallerDep, db: Db, services: Svc
) -> OrganizationInvitation:
    return await invitations.invite(
        db,
        services.mailer,
        caller=caller,
        organization_id=organization_id,
        email=body.email,
        role=body.role,
        base_url=services.settings.base_url,
        now=services.clock(),
    )


_INVITE: dict[str, Any] = {
    "status_code": status.HTTP_202_ACCEPTED,
    "response_model": InvitationOut,
    "description": "The person is mailed and becomes a member only once they accept "
    "(`POST /me/invitations/{id}/accept`). The answer is the same whether or not the address "
    "has an account.",
}


@router.post(
    "/{organization_id}/invitations",
    summary="Invite a person by email with a role",
    **_INVITE,
)
async def invite(
    organization_id: uuid.UUID, body: MemberIn, caller: CallerDep, db: Db, services: Svc
) -> OrganizationInvitation:
    return await _invite(organization_id, body, caller, db, services)


@router.post(
    "/{organization_id}/members",
    summary="Invite a person by email with a role (same as POST .../invitations)",
    **_INVITE,
)
async def add_member(
    organization_id: uuid.UUID, body: MemberIn, caller: CallerDep, db: Db, services: Svc
) -> OrganizationInvitation:
    # The older way to add someone; it invites them now, as nobody joins without consent.
    return await _invite(organization_id, body, caller, db, services)


@router.get(
    "/{organization_id}/invitations",
    response_model=list[InvitationOut],
    summary="Invitations not yet accepted, declined or expired (owners and managers)",
)
async def list_invitations(
    organization_id: uuid.UUID, caller: CallerDep, db: Db, services: Svc
) -> list[OrganizationInvitation]:
    return await invitations.pending_for_organization(
        db, caller=caller, organization_id=organization_id, now=services.clock()
    )


@router.delete(
    "/{organization_id}/invitations/{invitation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Withdraw an invitation",
)
async def revoke_invitation(
    organization_id: uuid.UUID,
    invitation_id: uuid.UUID,
    caller: CallerDep,
    db: Db,
    services: Svc,
) -> None:
    await invitations.revoke(
        db,
        caller=caller,
        organization_id=organization_id,
        invitation_id=invitation_id,
        now=services.clock(),
    )


@router.patch("/{organization_id}/members/{user_id}", summary="Change a member's role")
async def change_role(
    organization_id: uuid.UUID, user_id: uuid.UUID, body: RoleIn, caller: CallerDep, db: Db
) -> dict[str, str]:
    await organizations.set_role(
        db, caller=caller, organization_id=organization_id, user_id=user_id, role=body.role
    )
    return {"user_id": str(user_id), "role": str(body.role)}


@router.delete(
    "/{organization_id}/members/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a member (or leave)",
)
async def remove_member(
    organization_id: uuid.UUID, user_id: uuid.UUID, caller: CallerDep, db: Db, services: Svc
) -> None:
    await organizations.remove_member(
        db, caller=caller, organization_id=organization_id, user_id=user_id
    )
    # Who leaves drives none of the organisation's devices any more: a former driver would
    # still get a van's positions in their export, and their consents would still decide
    # whether it is tracked.
    driven = list(
        await db.scalars(
            select(Device).where(
                Device.organization_id == organization_id, Device.driver_id == user_id
            )
        )
    )
    for device in driven:
        device.driver_id = None
    await db.commit()  # the gateways look the devices up in their own sessions
    for device in driven:
        services.device_changed(device.protocol, device.unique_id)
