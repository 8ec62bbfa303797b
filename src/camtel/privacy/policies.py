"""Versioned privacy policy and terms (P21): publishing records a version, mails every account
and asks each person to accept it at their next sign-in; acceptance goes to the ledger."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.accounts.models import User
from camtel.errors import Conflict, Invalid, NotFound
from camtel.mail.outbox import Mailer
from camtel.privacy import consent
from camtel.privacy.consent import Channel, Decision, Outcome, Purpose
from camtel.privacy.models import ConsentRecord, PolicyVersion

log = logging.getLogger(__name__)

MAX_BYTES = 512 * 1024
_MAIL_BATCH = 500


class Kind(StrEnum):
    PRIVACY = "privacy"
    TERMS = "terms"


ACCEPTANCE: dict[Kind, Purpose] = {Kind.PRIVACY: Purpose.PRIVACY_POLICY, Kind.TERMS: Purpose.TERMS}
_NAMES = {Kind.PRIVACY: "privacy policy", Kind.TERMS: "terms of service"}


def title_of(markdown: str, kind: Kind) -> str:
    """The document's first heading (or first line), for mail subjects and lists. Pure."""
    for line in markdown.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line[:200]
    return f"camtel {_NAMES[kind]}"


def page_url(base_url: str, kind: Kind) -> str:
    """The web page showing a document in force (`/privacy`, `/terms`), for mails. Pure."""
    return f"{base_url.rstrip('/')}/{Kind(kind)}"


def pending(current: Mapping[str, int], accepted: Mapping[str, Decision]) -> list[tuple[str, int]]:
    """Documents a person still has to accept, as (kind, version). Pure.

    current: kind -> version in force; accepted: purpose -> latest acceptance decision.
    """
    out = []
    for kind, number in sorted(current.items()):
        decision = accepted.get(ACCEPTANCE[Kind(kind)])
        if not (consent.is_given(decision) and decision.policy_version == number):
            out.append((kind, number))
    return out


async def current(db: AsyncSession) -> dict[str, PolicyVersion]:
    """The version in force of each document that has been published."""
    found: dict[str, PolicyVersion] = {}
    for kind in Kind:
        row = await db.scalar(
            select(PolicyVersion)
            .where(PolicyVersion.kind == kind)
            .order_by(PolicyVersion.version.desc())
            .limit(1)
        )
        if row is not None:
            found[kind] = row
    return found


async def versions(db: AsyncSession, kind: Kind) -> list[PolicyVersion]:
    """Every published version of a document, newest first."""
    return list(
        await db.scalars(
            select(PolicyVersion)
            .where(PolicyVersion.kind == Kind(kind))
            .order_by(PolicyVersion.version.desc())
        )
    )


async def version(db: AsyncSession, kind: Kind, number: int) -> PolicyVersion:
    """One published version, or NotFound."""
    row = await db.scalar(
        select(PolicyVersion).where(PolicyVersion.kind == kind, PolicyVersion.version == number)
    )
    if row is None:
        raise NotFound("no such policy version")
    return row


async def publish(
    db: AsyncSession,
    mailer: Mailer,
    *,
    kind: Kind,
    text: str,
    now: datetime,
    base_url: str,
    summary: str = "",
) -> tuple[PolicyVersion, int]:
    """Record a new version and mail every account; returns it and how many were mailed.
    `summary` (what changed, in a few lines) is put in the mail.

    Publishing the same text as the version in force changes nothing (returns 0 mails).
    """
    kind = Kind(kind)
    if not text.strip():
        raise Invalid("the document is empty", field="markdown")
    if len(text.encode()) > MAX_BYTES:
        raise Invalid(f"the document is larger than {MAX_BYTES} bytes", field="markdown")
    digest = hashlib.sha256(text.encode()).hexdigest()
    in_force = (await current(db)).get(kind)
    if in_force is not None and in_force.digest == digest:
        return in_force, 0
    row = PolicyVersion(
        kind=kind,
        version=(in_force.version + 1) if in_force else 1,
        title=title_of(text, kind),
        body=text,
        digest=digest,
        published_at=now,
    )
    db.add(row)
    await db.flush()
    changes = f"What changed:\n{summary.strip()}\n\n" if summary.strip() else ""
    if row.version > 1:  # every change, line by line, on the site
        changes += (
            f"Compare it with the version before: {page_url(base_url, kind)}/changes"
            f"?from={row.version - 1}&to={row.version}\n\n"
        )
    mailed = 0
    last: uuid.UUID | None = None
    while True:  # keyset batches, so a large user base does not sit in one session at once
        query = select(User.id, User.email).order_by(User.id).limit(_MAIL_BATCH)
        if last is not None:
            query = query.where(User.id > last)
        batch = (await db.execute(query)).all()
        if not batch:
            break
        for user_id, email in batch:
            mailer.queue(
                db,
                to=email,
                user_id=user_id,
                subject=f"camtel has a new {_NAMES[kind]} (version {row.version})",
                body=(
                    f"We have published version {row.version} of our {_NAMES[kind]}: "
                    f"{row.title}.\n\n{changes}Read it at {page_url(base_url, kind)}\n\n"
                    "We will ask you to accept it the next time you sign in. Until then "
                    "nothing changes in how we process your data for any new purpose.\n"
                ),
            )
            mailed += 1
        await db.flush()
        last = batch[-1][0]
    log.info("policy published", extra={"kind": str(kind), "version": row.version})
    return row, mailed


async def acceptance_required(db: AsyncSession, user_id: uuid.UUID) -> list[tuple[str, int]]:
    """Documents in force that this person has not accepted yet: (kind, version)."""
    in_force = {kind: row.version for kind, row in (await current(db)).items()}
    if not in_force:
        return []
    decisions: dict[str, Decision] = {}
    for kind in in_force:
        purpose = ACCEPTANCE[Kind(kind)]
        found = await consent.decision(db, user_id, purpose)
        if found is not None:
            decisions[purpose] = found
    return pending(in_force, decisions)


async def status(db: AsyncSession, user_id: uuid.UUID) -> dict[str, Any]:
    """What the API shows about acceptance: required or not, and of which documents."""
    missing = await acceptance_required(db, user_id)
    return {
        "policy_acceptance_required": bool(missing),
        "policy_acceptance_pending": [{"kind": k, "version": v} for k, v in missing],
    }


async def accept(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    kind: Kind,
    number: int,
    channel: Channel,
    now: datetime,
) -> ConsentRecord:
    """Accept the version in force of a document (an older version cannot be accepted)."""
    in_force = (await current(db)).get(Kind(kind))
    if in_force is None:
        raise NotFound("no such document has been published")
    if in_force.version != number:
        raise Conflict(
            f"version {number} is not in force; the current one is {in_force.version}",
            current_version=in_force.version,
        )
    return await consent.record(
        db,
        user_id=user_id,
        purpose=ACCEPTANCE[Kind(kind)],
        outcome=Outcome.GIVEN,
        channel=channel,
        policy_version=number,
        now=now,
    )


def publish_file(settings: Any, path: Path, kind: str = "privacy") -> dict[str, Any]:
    """`camtel policy publish FILE [--kind privacy|terms]`: publish and mail everyone."""
    from camtel.db.base import utcnow
    from camtel.db.engine import Database
    from camtel.db.migrate import upgrade

    text = Path(path).read_text(encoding="utf-8")
    upgrade(settings.sqlalchemy_url)

    async def run() -> dict[str, Any]:
        database = Database(settings.sqlalchemy_url)
        mailer = Mailer(settings, database)
        try:
            async with database.session() as db:
                row, mailed = await publish(
                    db, mailer, kind=Kind(kind), text=text, now=utcnow(), base_url=settings.base_url
                )
                result: dict[str, Any] = {
                    "kind": row.kind,
                    "version": row.version,
                    "mailed": mailed,
                }
            result["delivered"] = 0
            while sent := await mailer.deliver_pending():  # 100 per round
                result["delivered"] += sent
            return result
        finally:
            await database.dispose()

    return asyncio.run(run())
