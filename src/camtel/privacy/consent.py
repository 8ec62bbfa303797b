"""The consent ledger: append-only decisions per purpose; the latest one is the state.

Processing code asks `allows(db, user_id, purpose)` before it processes for that purpose.
Nothing here updates or deletes a record, and the database refuses to (triggers added by
migration 0007): a record goes only with its person, when that person is erased (the row of
`users` is gone, or an erasure of them is in progress in `privacy_requests`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.privacy.models import ConsentRecord, PolicyVersion


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


class Decision(Protocol):
    """What the pure functions need of a record (a ConsentRecord, or anything shaped so)."""

    purpose: str
    outcome: str
    time: datetime
    id: uuid.UUID
    actor_id: uuid.UUID | None
    policy_version: int | None


def latest(records: Iterable[Decision]) -> dict[str, Decision]:
    """The current decision per purpose: the latest record (by time, then id). Pure."""
    current: dict[str, Decision] = {}
    for record in records:
        seen = current.get(record.purpose)
        if seen is None or (record.time, record.id) > (seen.time, seen.id):
            current[record.purpose] = record
    return current


def is_given(decision: Decision | None) -> bool:
    """Whether a decision allows processing: only an explicit, not withdrawn, yes. Pure."""
    return decision is not None and decision.outcome == Outcome.GIVEN


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
    user_id: uuid.UUID,
    purpose: Purpose,
    outcome: Outcome,
    channel: Channel,
    now: datetime,
    actor_id: uuid.UUID | None = None,
    policy_version: int | None = None,
) -> ConsentRecord:
    """Append one decision to the ledger (the only write this module makes)."""
    if policy_version is None:
        policy_version = await current_policy_version(db)
    row = ConsentRecord(
        user_id=user_id,
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
    return latest(await history(db, user_id))  # type: ignore[return-value]


async def decision(db: AsyncSession, user_id: uuid.UUID, purpose: Purpose) -> ConsentRecord | None:
    """The latest decision of a person about one purpose, if any."""
    return await db.scalar(
        select(ConsentRecord)
        .where(ConsentRecord.user_id == user_id, ConsentRecord.purpose == Purpose(purpose))
        .order_by(ConsentRecord.time.desc(), ConsentRecord.id.desc())
        .limit(1)
    )


async def allows(db: AsyncSession, user_id: uuid.UUID, purpose: Purpose) -> bool:
    """Whether camtel may process this person's data for this purpose right now."""
    return is_given(await decision(db, user_id, purpose))
