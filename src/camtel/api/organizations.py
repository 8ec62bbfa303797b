"""Organisations and their members."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, status
from pydantic import Field

from camtel.accounts import organizations
from camtel.accounts.roles import Role
from camtel.api.deps import CallerDep, Db, Svc
from camtel.api.schemas import Strict

router = APIRouter(prefix="/organizations", tags=["organizations"])


class OrganizationIn(Strict):
    name: str = Field(min_length=1, max_length=120)


class MemberIn(Strict):
    email: str = Field(max_length=254)
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


@router.post(
    "/{organization_id}/members",
    status_code=status.HTTP_201_CREATED,
    summary="Add a registered person with a role",
)
async def add_member(
    organization_id: uuid.UUID, body: MemberIn, caller: CallerDep, db: Db, services: Svc
) -> dict[str, str]:
    user = await organizations.add_member(
        db,
        caller=caller,
        organization_id=organization_id,
        email=body.email,
        role=body.role,
        now=services.clock(),
    )
    return {"user_id": str(user.id), "role": str(body.role)}


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
    organization_id: uuid.UUID, user_id: uuid.UUID, caller: CallerDep, db: Db
) -> None:
    await organizations.remove_member(
        db, caller=caller, organization_id=organization_id, user_id=user_id
    )
