"""Invitations into an organisation: nobody becomes a member without accepting.

An owner or manager invites an address with a role; camtel mails the address. The inviter's
answer is the same whether or not the address has an account, so inviting tells nothing
about who is registered. The invited person signs in with that address (registering first
if need be) and accepts or declines; an invitation lasts `INVITATION_TTL`.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.accounts.caller import Caller
from camtel.accounts.contact import ContactError, normalise_email
from camtel.accounts.models import Membership, Organization, OrganizationInvitation, User
from camtel.accounts.roles import Role, can_assign, can_invite
from camtel.accounts.service import find_by_email
from camtel.errors import Conflict, Forbidden, Invalid, NotFound
from camtel.mail.outbox import Mailer

log = logging.getLogger(__name__)

INVITATION_TTL = timedelta(days=7)
#: Pending invitations one organisation may have at once: each is a mail to an address the
#: inviter typed, so this bounds the mail one organisation can make camtel send.
MAX_PENDING = 100


class Status(StrEnum):
    """Where an invitation stands."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    REVOKED = "revoked"


def is_open(invitation: OrganizationInvitation, now: datetime) -> bool:
    """Whether an invitation can still be accepted or declined. Pure."""
    return invitation.status == Status.PENDING and invitation.expires_at > now


def _address(email: str) -> str:
    try:
        return normalise_email(email)
    except ContactError as exc:
        raise Invalid(str(exc), field="email") from None


def _open_clause(now: datetime) -> ColumnElement[bool]:
    return (OrganizationInvitation.status == Status.PENDING) & (
        OrganizationInvitation.expires_at > now
    )


async def invite(
    db: AsyncSession,
    mailer: Mailer,
    *,
    caller: Caller,
    organization_id: uuid.UUID,
    email: str,
    role: Role,
    base_url: str,
    now: datetime,
) -> OrganizationInvitation:
    """Invite an address into the organisation with a role and mail it; inviting an address
    that is already invited renews that invitation (new role, new expiry, new mail)."""
    mine = caller.role_in(organization_id)
    if not can_assign(mine, role):
        raise Forbidden(f"a {mine} may not invite a {role}")
    address = _address(email)
    members = await db.scalar(
        select(func.count())
        .select_from(Membership)
        .join(User, User.id == Membership.user_id)
        .where(Membership.organization_id == organization_id, User.email == address)
    )
    if members:
        # Members are listed to every member already: this says nothing new.
        raise Conflict("this person is already a member", field="email")
    # Known or not, the same work and the same answer; the link to an account stays inside.
    account = await find_by_email(db, email=address)
    invitation = await db.scalar(
        select(OrganizationInvitation).where(
            OrganizationInvitation.organization_id == organization_id,
            OrganizationInvitation.email == address,
            _open_clause(now),
        )
    )
    if invitation is None:
        pending = await db.scalar(
            select(func.count())
            .select_from(OrganizationInvitation)
            .where(OrganizationInvitation.organization_id == organization_id, _open_clause(now))
        )
        if (pending or 0) >= MAX_PENDING:
            raise Invalid(f"an organisation may have at most {MAX_PENDING} pending invitations")
        invitation = OrganizationInvitation(
            organization_id=organization_id, email=address, created_at=now
        )
    invitation.role = role
    invitation.invited_by = caller.user.id
    invitation.user_id = account.id if account else None
    invitation.status = Status.PENDING
    invitation.expires_at = now + INVITATION_TTL
    db.add(invitation)  # added only now, whole: no autoflush sees it half made
    await db.flush()
    organization = await db.get(Organization, organization_id)
    _mail(mailer, db, invitation, account, caller.user, organization, base_url)
    log.info("invitation sent", extra={"invitation": str(invitation.id), "role": str(role)})
    return invitation


def _mail(
    mailer: Mailer,
    db: AsyncSession,
    invitation: OrganizationInvitation,
    account: User | None,
    inviter: User,
    organization: Organization | None,
    base_url: str,
) -> None:
    who = inviter.display_name or "Someone"
    where = organization.name if organization else "an organisation"
    mailer.queue(
        db,
        to=invitation.email,
        # An address without an account is linked to no one (as a change-of-address link).
        user_id=account.id if account else None,
        subject=f"You are invited to join {where} on camtel",
        body=(
            f"{who} invited you to join {where} on camtel as {invitation.role}.\n\n"
            "Nothing happens unless you accept. Open this page, signed in to camtel with this "
            f"email address (or create an account with it at {base_url}/register), and accept "
            f"or decline:\n\n{base_url}/app/invitations#invitation-{invitation.id}\n\n"
            f"The invitation expires in {INVITATION_TTL.days} days. If you do not know this "
            "organisation, ignore this mail.\n"
        ),
    )


async def pending_for_organization(
    db: AsyncSession, *, caller: Caller, organization_id: uuid.UUID, now: datetime
) -> list[OrganizationInvitation]:
    """The organisation's invitations still open, for its owners and managers."""
    mine = caller.role_in(organization_id)
    caller.require(organization_id, can_invite(mine), "see invitations")
    return list(
        await db.scalars(
            select(OrganizationInvitation)
            .where(OrganizationInvitation.organization_id == organization_id, _open_clause(now))
            .order_by(OrganizationInvitation.created_at, OrganizationInvitation.id)
        )
    )


async def revoke(
    db: AsyncSession,
    *,
    caller: Caller,
    organization_id: uuid.UUID,
    invitation_id: uuid.UUID,
    now: datetime,
) -> None:
    """Withdraw one of the organisation's open invitations."""
    mine = caller.role_in(organization_id)
    caller.require(organization_id, can_invite(mine), "withdraw invitations")
    invitation = await db.get(OrganizationInvitation, invitation_id)
    if (
        invitation is None
        or invitation.organization_id != organization_id
        or not is_open(invitation, now)
    ):
        raise NotFound("invitation not found")
    invitation.status, invitation.decided_at = Status.REVOKED, now


async def _link_to(db: AsyncSession, user: User) -> None:
    # Invitations sent before the person had an account become theirs (export, erasure).
    await db.execute(
        update(OrganizationInvitation)
        .where(OrganizationInvitation.email == user.email, OrganizationInvitation.user_id.is_(None))
        .values(user_id=user.id)
    )


async def pending_for_person(
    db: AsyncSession, *, user: User, now: datetime
) -> list[tuple[OrganizationInvitation, str]]:
    """Open invitations to the person's address, each with the organisation's name."""
    await _link_to(db, user)
    rows = await db.execute(
        select(OrganizationInvitation, Organization.name)
        .join(Organization, Organization.id == OrganizationInvitation.organization_id)
        .where(OrganizationInvitation.email == user.email, _open_clause(now))
        .order_by(OrganizationInvitation.created_at, OrganizationInvitation.id)
    )
    return [(invitation, name) for invitation, name in rows.all()]


async def _mine(
    db: AsyncSession, *, caller: Caller, invitation_id: uuid.UUID, now: datetime
) -> OrganizationInvitation:
    """An open invitation to the caller's address; anything else is the same NotFound."""
    invitation = await db.get(OrganizationInvitation, invitation_id)
    if invitation is None or invitation.email != caller.user.email or not is_open(invitation, now):
        raise NotFound("invitation not found")
    return invitation


async def accept(
    db: AsyncSession, *, caller: Caller, invitation_id: uuid.UUID, now: datetime
) -> OrganizationInvitation:
    """The invited person joins the organisation with the role offered."""
    invitation = await _mine(db, caller=caller, invitation_id=invitation_id, now=now)
    organization_id = invitation.organization_id
    if organization_id in caller.roles:
        raise Conflict("you are already a member of this organisation")
    role = Role(invitation.role)
    db.add(
        Membership(
            user_id=caller.user.id, organization_id=organization_id, role=role, created_at=now
        )
    )
    invitation.status, invitation.decided_at = Status.ACCEPTED, now
    invitation.user_id = caller.user.id
    caller.roles[organization_id] = role
    await db.flush()
    log.info("invitation accepted", extra={"invitation": str(invitation.id)})
    return invitation


async def decline(
    db: AsyncSession, *, caller: Caller, invitation_id: uuid.UUID, now: datetime
) -> None:
    """The invited person says no; the organisation sees the invitation gone."""
    invitation = await _mine(db, caller=caller, invitation_id=invitation_id, now=now)
    invitation.status, invitation.decided_at = Status.DECLINED, now
    invitation.user_id = caller.user.id
