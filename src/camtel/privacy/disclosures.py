"""The disclosure register (P18): what personal data camtel gave to whom, for what purpose and
on what legal basis, and the people concerned. Each person is told by mail and sees the
disclosure in their privacy centre, unless a legal reason to withhold the notice is recorded;
withheld disclosures stay hidden from the person. It also holds the check of data categories
against the registry, which the breach register (`privacy/breaches.py`) shares."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.accounts.models import User
from camtel.accounts.service import find_by_email
from camtel.errors import Invalid
from camtel.mail.outbox import Mailer
from camtel.privacy.models import Disclosure, DisclosureSubject
from camtel.privacy.registry import Category

log = logging.getLogger(__name__)


# --- pure decisions ------------------------------------------------------------------------


def check_subject(tell: bool, not_told_reason: str) -> None:
    """A person is told about a disclosure unless a legal reason to withhold is recorded."""
    if not tell and not not_told_reason.strip():
        raise Invalid("name the legal reason for not telling the person", field="not_told_reason")


def check_categories(categories: Iterable[str]) -> list[str]:
    """Known data categories, de-duplicated, in a stable order; Invalid otherwise. Pure."""
    chosen = list(dict.fromkeys(categories))
    unknown = [c for c in chosen if c not in Category.__members__.values()]
    if unknown or not chosen:
        names = ", ".join(c.value for c in Category)
        raise Invalid(f"categories must be some of: {names}", field="categories")
    return chosen


# --- the register --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SubjectIn:
    """A person whose data was disclosed, named by account id or by email address."""

    user_id: uuid.UUID | None = None
    tell: bool = True
    not_told_reason: str = ""
    email: str | None = None


async def _subject(db: AsyncSession, subject: SubjectIn) -> User:
    if (subject.user_id is None) == (subject.email is None):
        raise Invalid("name each person by user_id or by email", field="subjects")
    if subject.user_id is not None:
        person = await db.get(User, subject.user_id)
    else:
        person = await find_by_email(db, email=subject.email or "")
    if person is None:
        raise Invalid("a named person has no account", field="subjects")
    return person


async def record_disclosure(
    db: AsyncSession,
    mailer: Mailer,
    *,
    recorded_by: uuid.UUID | None,
    recipient: str,
    purpose: str,
    categories: Sequence[str],
    legal_basis: str,
    disclosed_at: datetime,
    subjects: Sequence[SubjectIn],
    now: datetime,
) -> Disclosure:
    """Record a disclosure; every person not withheld by law is told by mail at once."""
    chosen = check_categories(categories)
    for subject in subjects:
        check_subject(subject.tell, subject.not_told_reason)
    people = [await _subject(db, subject) for subject in subjects]
    if len({p.id for p in people}) != len(subjects):
        raise Invalid("each person is named once", field="subjects")
    disclosure = Disclosure(
        recipient=recipient,
        purpose=purpose,
        categories=chosen,
        legal_basis=legal_basis,
        disclosed_at=disclosed_at,
        recorded_by=recorded_by,
        created_at=now,
    )
    db.add(disclosure)
    await db.flush()
    for subject, person in zip(subjects, people, strict=True):
        db.add(
            DisclosureSubject(
                disclosure_id=disclosure.id,
                user_id=person.id,
                told_at=now if subject.tell else None,
                not_told_reason="" if subject.tell else subject.not_told_reason.strip(),
            )
        )
        if subject.tell:
            mailer.queue(
                db,
                to=person.email,
                user_id=person.id,
                subject="camtel disclosed some of your data",
                body=(
                    f"On {disclosed_at:%Y-%m-%d} camtel gave some of your personal data to "
                    f"{recipient}.\n\nPurpose: {purpose}\nData: {', '.join(chosen)}\n"
                    f"Legal basis: {legal_basis}\n\nYou can see every disclosure about you in "
                    "your privacy centre, and contact our data-protection officer.\n"
                ),
            )
    await db.flush()
    log.info("disclosure recorded", extra={"disclosure": str(disclosure.id)})
    return disclosure


async def disclosures_of(db: AsyncSession, user_id: uuid.UUID) -> list[tuple[Disclosure, Any]]:
    """Disclosures a person has been told about (withheld ones stay hidden, as the law asks)."""
    rows = await db.execute(
        select(Disclosure, DisclosureSubject.told_at)
        .join(DisclosureSubject, DisclosureSubject.disclosure_id == Disclosure.id)
        .where(DisclosureSubject.user_id == user_id, DisclosureSubject.told_at.is_not(None))
        .order_by(Disclosure.disclosed_at.desc())
    )
    return [(d, t) for d, t in rows.all()]
