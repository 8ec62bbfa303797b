"""Minors and guardians (P20): an account under 18 needs its linked guardian's consent before
location, video or diagnostics are collected; the guardian can refuse and request erasure.

The pipeline and media code call `collection_allowed(db, user_id, kind)`.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from collections.abc import Collection
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.accounts.age import AgeBasis
from camtel.accounts.contact import ContactError, normalise_email
from camtel.accounts.models import User
from camtel.accounts.service import find_by_email, is_minor, state_age
from camtel.accounts.tokens import token_hash
from camtel.db.base import utcnow
from camtel.errors import Conflict, Forbidden, Invalid, NotFound
from camtel.mail.outbox import Mailer
from camtel.privacy import consent
from camtel.privacy.consent import Channel, Decision, Outcome, Purpose
from camtel.privacy.models import ConsentRecord, GuardianInvitation
from camtel.privacy.rights_models import PrivacyRequest

log = logging.getLogger(__name__)

INVITATION_TTL = timedelta(days=7)


class Kind(StrEnum):
    """What may be collected about a minor only with their guardian's consent."""

    LOCATION = "location"
    VIDEO = "video"
    DIAGNOSTICS = "diagnostics"


PURPOSE_OF: dict[Kind, Purpose] = {
    Kind.LOCATION: Purpose.GUARDIAN_LOCATION,
    Kind.VIDEO: Purpose.GUARDIAN_VIDEO,
    Kind.DIAGNOSTICS: Purpose.GUARDIAN_DIAGNOSTICS,
}


def collection_decision(
    *,
    minor: bool,
    guardian_id: uuid.UUID | None,
    guardian_decision: Decision | None,
    erasure_pending: bool,
) -> bool:
    """Whether data of this kind may be collected about the person. Pure.

    Nobody's data is collected while their erasure is pending. An adult is not gated here
    (their own consents are asked separately). A minor needs a linked guardian whose latest
    decision is "given" — a decision by a former guardian does not count.
    """
    if erasure_pending:
        return False
    if not minor:
        return True
    if guardian_id is None or guardian_decision is None:
        return False
    return consent.is_given(guardian_decision) and guardian_decision.actor_id == guardian_id


async def erasure_pending(db: AsyncSession, user_id: uuid.UUID) -> bool:
    """Whether an erasure of the person has been requested and not finished."""
    found = await db.scalar(
        select(PrivacyRequest.id)
        .where(
            PrivacyRequest.kind == "erasure",
            PrivacyRequest.user_id == user_id,
            PrivacyRequest.status != "done",
        )
        .limit(1)
    )
    return found is not None


async def collection_allowed(
    db: AsyncSession, user_id: uuid.UUID, kind: Kind, *, today: date | None = None
) -> bool:
    """Whether location, video or diagnostics of this person may be collected now."""
    user = await db.get(User, user_id)
    if user is None:
        return False
    minor = is_minor(user, today or utcnow().date())
    return collection_decision(
        minor=minor,
        guardian_id=user.guardian_id,
        guardian_decision=(
            await consent.decision(db, user_id, PURPOSE_OF[Kind(kind)]) if minor else None
        ),
        erasure_pending=await erasure_pending(db, user_id),
    )


async def erasures_pending(db: AsyncSession, user_ids: Collection[uuid.UUID]) -> set[uuid.UUID]:
    """`erasure_pending` for many people in one query: those whose erasure is not finished."""
    if not user_ids:
        return set()
    found = await db.scalars(
        select(PrivacyRequest.user_id)
        .where(
            PrivacyRequest.kind == "erasure",
            PrivacyRequest.user_id.in_(user_ids),
            PrivacyRequest.status != "done",
        )
        .distinct()
    )
    return {user_id for user_id in found if user_id is not None}


async def collection_allowed_many(
    db: AsyncSession, user_ids: Collection[uuid.UUID], kind: Kind, *, today: date | None = None
) -> dict[uuid.UUID, bool]:
    """`collection_allowed` for many people in at most three queries (meant for a batch of
    hundreds, not an unbounded set): the same decision for each."""
    if not user_ids:
        return {}
    users = {user.id: user for user in await db.scalars(select(User).where(User.id.in_(user_ids)))}
    on = today or utcnow().date()
    minors = {user_id for user_id, user in users.items() if is_minor(user, on)}
    decided = await consent.latest_decisions(db, minors, PURPOSE_OF[Kind(kind)])
    erasing = await erasures_pending(db, users.keys())
    return {
        user_id: user_id in users
        and collection_decision(
            minor=user_id in minors,
            guardian_id=users[user_id].guardian_id,
            guardian_decision=decided.get(user_id) if user_id in minors else None,
            erasure_pending=user_id in erasing,
        )
        for user_id in user_ids
    }


def _email_hash(email: str) -> str:
    return hashlib.sha256(email.encode()).hexdigest()


async def invite_guardian(
    db: AsyncSession, mailer: Mailer, *, minor: User, email: str, base_url: str, now: datetime
) -> GuardianInvitation:
    """Mail an adult a one-time link to become this minor's guardian."""
    if not is_minor(minor, now.date()):
        raise Invalid("only accounts of people under 18 link a guardian")
    try:
        address = normalise_email(email)
    except ContactError as exc:
        raise Invalid(str(exc), field="email") from None
    if address == minor.email:
        raise Invalid("a guardian is another person", field="email")
    token = secrets.token_urlsafe(32)
    invitation = GuardianInvitation(
        minor_id=minor.id,
        email_hash=_email_hash(address),
        token_hash=token_hash(token),
        expires_at=now + INVITATION_TTL,
        created_at=now,
    )
    db.add(invitation)
    existing = await find_by_email(db, email=address)
    name = minor.display_name or "A young person"
    mailer.queue(
        db,
        to=address,
        # Linked to the invited account when there is one, else to the minor who typed it.
        user_id=existing.id if existing else minor.id,
        subject="Confirm that you are a guardian on camtel",
        body=(
            f"{name} uses camtel and is under 18. They asked you to be their guardian.\n\n"
            "As their guardian you decide whether camtel may collect their location, video "
            "and diagnostics, and you can ask camtel to delete their data.\n\n"
            "Sign in to camtel with this email address (or create an account with it), then "
            f"confirm with this token:\n\ntoken={token}\n\nor open {base_url}/guardian?token="
            f"{token}\n\nThe link expires in {INVITATION_TTL.days} days. If you do not know "
            "this person, ignore this mail.\n"
        ),
    )
    await db.flush()
    log.info("guardian invited", extra={"invitation": str(invitation.id)})
    return invitation


async def confirm_guardian(
    db: AsyncSession, *, guardian: User, token: str, now: datetime, adult: bool | None = None
) -> User:
    """The invited adult, signed in, confirms: they become the minor's guardian. An account
    whose age was never stated (an API registration) must confirm being 18 or older here
    (`adult`), which is recorded as its age statement."""
    invitation = await db.scalar(
        select(GuardianInvitation).where(GuardianInvitation.token_hash == token_hash(token))
    )
    if invitation is None or invitation.accepted_at is not None or invitation.expires_at <= now:
        raise Invalid("this invitation is invalid, used or expired", field="token")
    if invitation.email_hash != _email_hash(guardian.email):
        raise Forbidden("this invitation was sent to another email address")
    if is_minor(guardian, now.date()):
        raise Forbidden("a guardian must be an adult")
    if guardian.age_basis == AgeBasis.UNSTATED:
        if not adult:
            raise Invalid(
                "a guardian must be an adult: confirm that you are 18 or older (adult: true)",
                field="adult",
                code="age_required",
            )
        state_age(guardian, date_of_birth=None, adult=True, now=now)
    minor = await db.get(User, invitation.minor_id)
    if minor is None or minor.id == guardian.id:
        raise NotFound("account not found")
    if minor.guardian_id is not None and minor.guardian_id != guardian.id:
        raise Conflict("this account already has a guardian")
    minor.guardian_id = guardian.id
    invitation.accepted_at, invitation.guardian_id = now, guardian.id
    return minor


async def wards(db: AsyncSession, guardian_id: uuid.UUID) -> list[User]:
    """The accounts this person is guardian of."""
    return list(
        await db.scalars(
            select(User).where(User.guardian_id == guardian_id).order_by(User.created_at)
        )
    )


async def ward(db: AsyncSession, *, guardian: User, minor_id: uuid.UUID) -> User:
    """A ward of this guardian, or NotFound (the same for any other account: no leak)."""
    minor = await db.get(User, minor_id)
    if minor is None or minor.guardian_id != guardian.id:
        raise NotFound("ward not found")
    return minor


async def decisions(
    db: AsyncSession, *, guardian_id: uuid.UUID, minor_id: uuid.UUID
) -> dict[str, str]:
    """The guardian's latest decision per kind: given, refused, withdrawn, or not_asked (a
    former guardian's decisions do not count)."""
    out = {}
    for kind in Kind:
        latest = await consent.decision(db, minor_id, PURPOSE_OF[kind])
        ours = latest is not None and latest.actor_id == guardian_id
        out[str(kind)] = str(latest.outcome) if ours and latest is not None else "not_asked"
    return out


async def decide(
    db: AsyncSession,
    *,
    guardian: User,
    minor_id: uuid.UUID,
    kind: Kind,
    outcome: Outcome,
    now: datetime,
) -> ConsentRecord:
    """The guardian gives, refuses or withdraws consent to collecting one kind of data."""
    minor = await ward(db, guardian=guardian, minor_id=minor_id)
    return await consent.record(
        db,
        user_id=minor.id,
        purpose=PURPOSE_OF[Kind(kind)],
        outcome=outcome,
        channel=Channel.GUARDIAN,
        actor_id=guardian.id,
        now=now,
    )


async def request_erasure(
    db: AsyncSession, *, guardian: User, minor_id: uuid.UUID, now: datetime
) -> PrivacyRequest:
    """Record the guardian's demand to erase the minor's data (the erasure engine runs it).

    Collection stops at once: `collection_allowed` is False while the request is open.
    """
    from camtel.privacy import erasure

    minor = await ward(db, guardian=guardian, minor_id=minor_id)
    request = await erasure.request_erasure(db, user_id=minor.id, now=now, actor="guardian")
    log.info("guardian requested erasure", extra={"request": str(request.id)})
    return request
