"""Roles in an organisation and what each may do: pure decisions, no I/O."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A person's role in an organisation, most powerful first."""

    OWNER = "owner"
    MANAGER = "manager"
    DRIVER = "driver"
    VIEWER = "viewer"


def can_manage_devices(role: Role) -> bool:
    """Create, rename, group and delete devices."""
    return role in (Role.OWNER, Role.MANAGER)


def can_manage_members(role: Role) -> bool:
    """Add and remove people and change their roles."""
    return role is Role.OWNER


def sees_all_devices(role: Role) -> bool:
    """Whether the role sees every device of the organisation (drivers see their own)."""
    return role is not Role.DRIVER


def can_assign(granter: Role, role: Role) -> bool:
    """Whether someone with `granter` may give `role` to another member."""
    return granter is Role.OWNER or (granter is Role.MANAGER and role in (Role.DRIVER, Role.VIEWER))


def can_invite(role: Role) -> bool:
    """Invite people, see and withdraw the organisation's pending invitations."""
    return role in (Role.OWNER, Role.MANAGER)
