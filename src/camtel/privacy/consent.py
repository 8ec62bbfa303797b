"""The consent ledger: append-only decisions per purpose; the latest one is the state.

Processing code asks `allows(db, user_id, purpose)` before it processes for that purpose.
Nothing here updates or deletes a record, and the database refuses to (triggers added by
migrations 0007 and 0011): a person's record goes only with its person, when that person is
erased (the row of `users` is gone, or an erasure of them is in progress in
`privacy_requests`); an anonymous visitor's record only once it is older than
VISITOR_RETENTION_DAYS.

What each purpose a person decides governs:

- analytics: whether their page views are counted in the cookie-less usage statistics. The
  cookie banner's "analytics" switch is this same purpose (one switch, one meaning): a
  signed-in person's banner choice is their ledger decision; an anonymous visitor's is
  recorded under a random visitor id kept in the consent cookie (see `api/public.py`).
- diagnostics: whether their problem logs are accepted.
- marketing_email: product news mail. Strict opt-in: only a latest decision of `given` lets
  news reach them (`camtel.notify.news`); every news mail carries a one-click unsubscribe.
- share_location_with_organisation: a driver's objection switch. When the person a device
  tracks (its driver) is a member of an organisation that is not only theirs (managers would
  see the positions), and their latest decision for this purpose is `withdrawn` or `refused`,
  the device's positions are acknowledged but not stored. No record yet: collected under the
  organisation's legitimate interest (employee tracking rarely rests on consent); `given`:
  collected. A person's own car (an organisation with them as its only member) is never
  affected. The decision is `organisation_may_locate`; the gateways ask
  `location_shared_allowed` when they resolve a device.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Collection, Iterable
from datetime import datetime
from enum import StrEnum
from typing import Protocol, TypeGuard, TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.accounts.models import Membership
from camtel.privacy.models import ConsentRecord, PolicyVersion

#: How long an anonymous visitor's decision is kept: the consent cookie's six months, plus
#: the time to prove a choice afterwards. Migration 0011 lets only older visitor rows go.
VISITOR_RETENTION_DAYS = 395
_VISITOR_ID = re.compile(r"[0-9a-f]{32}")


class Purpose(StrEnum):
    """What consent is asked for."""

    ANALYTICS = "analytics"
    DIAGNOSTICS = "diagnostics"
    MARKETING_EMAIL = "marketing_email"
    SHARE_LOCATION_WITH_ORGANISATION = "share_location_with_organisation"
    # A guardian's consent to collecting a minor's data (set only by the linked guardian).
    GUARDIAN_LOCATION = "guardian_location"
    GUARDIAN_VIDEO = "guardian_video"
    GUARDIAN_DIAGNOSTICS = "guardian_diagnostics"
    # Acceptance of a published document; the record's policy_version says which version.
    PRIVACY_POLICY = "privacy_policy"
    TERMS = "terms"


#: Purposes a person decides for themselves through the consent API.
OWN_PURPOSES: tuple[Purpose, ...] = (
    Purpose.ANALYTICS,
    Purpose.DIAGNOSTICS,
    Purpose.MARKETING_EMAIL,
    Purpose.SHARE_LOCATION_WITH_ORGANISATION,
)
GUARDIAN_PURPOSES: tuple[Purpose, ...] = (
    Purpose.GUARDIAN_LOCATION,
    Purpose.GUARDIAN_VIDEO,
    Purpose.GUARDIAN_DIAGNOSTICS,
)


class Outcome(StrEnum):
    GIVEN = "given"
    WITHDRAWN = "withdrawn"
    REFUSED = "refused"


class Channel(StrEnum):
    API = "api"
    WEB = "web"
    CLI = "cli"
    GUARDIAN = "guardian"
    #: The one-click unsubscribe link of a mail (RFC 8058).
    EMAIL = "email"


class Decision(Protocol):
    """What the pure functions need of a record (a ConsentRecord, or anything shaped so)."""

    purpose: str
    outcome: str
    time: datetime
    id: uuid.UUID
    actor_id: uuid.UUID | None
    policy_version: int | None


D = TypeVar("D", bound=Decision)


def latest(records: Iterable[D]) -> dict[str, D]:
    """The current decision per purpose: the latest record (by time, then id). Pure."""
    current: dict[str, D] = {}
    for record in records:
        seen = current.get(record.purpose)
        if seen is None or (record.time, record.id) > (seen.time, seen.id):
            current[record.purpose] = record
    return current


def is_given(decision: D | None) -> TypeGuard[D]:
    """Whether a decision allows processing: only an explicit, not withdrawn, yes. Pure."""
    return decision is not None and decision.outcome == Outcome.GIVEN


def organisation_may_locate(*, shared: bool, decision: Decision | None) -> bool:
    """Whether a device's positions may be stored, as far as the driver's objection goes. Pure.

    shared: the tracked person's organisation has other members (they would see positions);
    decision: the person's latest share_location_with_organisation decision.
    """
    if not shared or decision is None:
        return True
    return decision.outcome not in (Outcome.WITHDRAWN, Outcome.REFUSED)


def new_visitor_id() -> str:
    """A random, opaque id for an anonymous visitor: nothing about them goes into it."""
    return secrets.token_hex(16)


def is_visitor_id(value: str) -> bool:
    """Whether a string has the shape of a visitor id (a cookie is the visitor's to forge). Pure."""
    return _VISITOR_ID.fullmatch(value) is not None


async def current_policy_version(db: AsyncSession, kind: str = "privacy") -> int | None:
    """The version number of the document in force, or None before any is published."""
    return await db.scalar(
        select(PolicyVersion.version)
        .where(PolicyVersion.kind == kind)
        .order_by(PolicyVersion.version.desc())
        .limit(1)
    )


async def record(
    db: AsyncSession,
    *,
    user_id: uuid.UUID | None,
    purpose: Purpose,
    outcome: Outcome,
    channel: Channel,
    now: datetime,
    actor_id: uuid.UUID | None = None,
    policy_version: int | None = None,
    visitor_id: str | None = None,
) -> ConsentRecord:
    """Append one decision of a person, or of an anonymous visitor, to the ledger (the only
    write this module makes)."""
    if (user_id is None) == (visitor_id is None):
        raise ValueError("a decision is either a person's or a visitor's")
    if visitor_id is not None and not is_visitor_id(visitor_id):
        raise ValueError("not a visitor id")
    if policy_version is None:
        policy_version = await current_policy_version(db)
    row = ConsentRecord(
        user_id=user_id,
        visitor_id=visitor_id,
        purpose=Purpose(purpose),
        outcome=Outcome(outcome),
        channel=Channel(channel),
        policy_version=policy_version,
        time=now,
        actor_id=actor_id,
    )
    db.add(row)
    await db.flush()
    return row


async def give(
    db: AsyncSession, *, user_id: uuid.UUID, purpose: Purpose, channel: Channel, now: datetime
) -> ConsentRecord:
    """Give consent for a purpose."""
    return await record(
        db, user_id=user_id, purpose=purpose, outcome=Outcome.GIVEN, channel=channel, now=now
    )


async def withdraw(
    db: AsyncSession, *, user_id: uuid.UUID, purpose: Purpose, channel: Channel, now: datetime
) -> ConsentRecord:
    """Withdraw consent for a purpose: one call, exactly like giving it."""
    return await record(
        db, user_id=user_id, purpose=purpose, outcome=Outcome.WITHDRAWN, channel=channel, now=now
    )


async def history(db: AsyncSession, user_id: uuid.UUID) -> list[ConsentRecord]:
    """Every decision of a person, oldest first."""
    return list(
        await db.scalars(
            select(ConsentRecord)
            .where(ConsentRecord.user_id == user_id)
            .order_by(ConsentRecord.time, ConsentRecord.id)
        )
    )


async def state(db: AsyncSession, user_id: uuid.UUID) -> dict[str, ConsentRecord]:
    """The current decision per purpose for a person."""
    return latest(await history(db, user_id))


async def decision(db: AsyncSession, user_id: uuid.UUID, purpose: Purpose) -> ConsentRecord | None:
    """The latest decision of a person about one purpose, if any."""
    return await db.scalar(
        select(ConsentRecord)
        .where(ConsentRecord.user_id == user_id, ConsentRecord.purpose == Purpose(purpose))
        .order_by(ConsentRecord.time.desc(), ConsentRecord.id.desc())
        .limit(1)
    )


async def latest_decisions(
    db: AsyncSession, user_ids: Collection[uuid.UUID], purpose: Purpose
) -> dict[uuid.UUID, ConsentRecord]:
    """`decision` for many people in one query: each one's latest decision about a purpose
    (the same order: time, then id), for those who have one."""
    if not user_ids:
        return {}
    order = (ConsentRecord.time.desc(), ConsentRecord.id.desc())
    ranked = (
        select(
            ConsentRecord.id,
            func.row_number().over(partition_by=ConsentRecord.user_id, order_by=order).label("n"),
        )
        .where(ConsentRecord.user_id.in_(user_ids), ConsentRecord.purpose == Purpose(purpose))
        .subquery()
    )
    rows = await db.scalars(
        select(ConsentRecord).join(ranked, ranked.c.id == ConsentRecord.id).where(ranked.c.n == 1)
    )
    return {row.user_id: row for row in rows if row.user_id is not None}


async def allows(db: AsyncSession, user_id: uuid.UUID, purpose: Purpose) -> bool:
    """Whether camtel may process this person's data for this purpose right now."""
    return is_given(await decision(db, user_id, purpose))


async def visitor_decision(
    db: AsyncSession, visitor_id: str, purpose: Purpose
) -> ConsentRecord | None:
    """The latest decision of an anonymous visitor about one purpose, if any."""
    return await db.scalar(
        select(ConsentRecord)
        .where(ConsentRecord.visitor_id == visitor_id, ConsentRecord.purpose == Purpose(purpose))
        .order_by(ConsentRecord.time.desc(), ConsentRecord.id.desc())
        .limit(1)
    )


async def shares_with_others(
    db: AsyncSession, user_id: uuid.UUID, organization_id: uuid.UUID
) -> bool:
    """Whether an organisation has members besides this person (who would see positions)."""
    other = await db.scalar(
        select(Membership.user_id)
        .where(Membership.organization_id == organization_id, Membership.user_id != user_id)
        .limit(1)
    )
    return other is not None


async def location_shared_allowed(
    db: AsyncSession, user_id: uuid.UUID, organization_id: uuid.UUID
) -> bool:
    """Whether a device of this organisation tracking this person may store positions, as far
    as their share_location_with_organisation decision goes."""
    shared = await shares_with_others(db, user_id, organization_id)
    return organisation_may_locate(
        shared=shared,
        decision=(
            await decision(db, user_id, Purpose.SHARE_LOCATION_WITH_ORGANISATION)
            if shared
            else None
        ),
    )


async def location_shared_allowed_many(
    db: AsyncSession, pairs: Collection[tuple[uuid.UUID, uuid.UUID]]
) -> dict[tuple[uuid.UUID, uuid.UUID], bool]:
    """`location_shared_allowed` for many (person, organisation) pairs in at most three
    queries (meant for a batch of hundreds, not an unbounded set)."""
    if not pairs:
        return {}
    people = {user_id for user_id, _ in pairs}
    organizations = {organization_id for _, organization_id in pairs}
    counted = await db.execute(
        select(Membership.organization_id, func.count())
        .where(Membership.organization_id.in_(organizations))
        .group_by(Membership.organization_id)
    )
    members = {organization_id: count for organization_id, count in counted}
    found = await db.execute(
        select(Membership.user_id, Membership.organization_id).where(
            Membership.user_id.in_(people), Membership.organization_id.in_(organizations)
        )
    )
    own = {(user_id, organization_id) for user_id, organization_id in found}
    # Others: the organisation's members but the person (a membership is unique per pair).
    shared = {pair for pair in pairs if members.get(pair[1], 0) - (1 if pair in own else 0) > 0}
    decided = await latest_decisions(
        db, {user_id for user_id, _ in shared}, Purpose.SHARE_LOCATION_WITH_ORGANISATION
    )
    return {
        pair: organisation_may_locate(
            shared=pair in shared, decision=decided.get(pair[0]) if pair in shared else None
        )
        for pair in pairs
    }
