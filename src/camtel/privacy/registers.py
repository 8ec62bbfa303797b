"""The disclosure register (P18) and the breach register (P16): who received what and why,
and for a breach, the 72-hour deadline, the people affected and telling each of them once."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CompoundSelect, Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.accounts.models import Membership, User
from camtel.accounts.service import find_by_email
from camtel.devices.models import Device
from camtel.errors import Invalid, NotFound
from camtel.mail.outbox import Mailer
from camtel.privacy.models import Breach, BreachNotification, Disclosure, DisclosureSubject
from camtel.privacy.registry import REGISTRY, Category
from camtel.privacy.tables import table as registered

log = logging.getLogger(__name__)

#: GDPR Art. 33(1): the supervisory authority is told within 72 hours of becoming aware.
AUTHORITY_WINDOW = timedelta(hours=72)


# --- pure decisions ------------------------------------------------------------------------


def authority_deadline(detected_at: datetime) -> datetime:
    """When the supervisory authority must have been told about a breach. Pure."""
    return detected_at + AUTHORITY_WINDOW


def deadline_state(
    detected_at: datetime, authority_notified_at: datetime | None, now: datetime
) -> dict[str, Any]:
    """Where a breach stands against its 72-hour deadline. Pure."""
    deadline = authority_deadline(detected_at)
    if authority_notified_at is not None:
        status = "notified" if authority_notified_at <= deadline else "notified_late"
    else:
        status = "open" if now < deadline else "overdue"
    return {
        "authority_deadline": deadline,
        "hours_left": round((deadline - now).total_seconds() / 3600, 1),
        "status": status,
    }


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


# --- disclosures ---------------------------------------------------------------------------


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


# --- breaches ------------------------------------------------------------------------------


async def record_breach(
    db: AsyncSession,
    *,
    recorded_by: uuid.UUID | None,
    detected_at: datetime,
    description: str,
    categories: Sequence[str],
    now: datetime,
) -> Breach:
    """Record a breach; its authority deadline is computed, not typed."""
    if detected_at > now + timedelta(minutes=5):
        raise Invalid("detected_at is in the future", field="detected_at")
    breach = Breach(
        detected_at=detected_at,
        authority_deadline=authority_deadline(detected_at),
        description=description,
        categories=check_categories(categories),
        recorded_by=recorded_by,
        created_at=now,
    )
    db.add(breach)
    await db.flush()
    log.warning("breach recorded", extra={"breach": str(breach.id)})
    return breach


def _people_of_table(name: str) -> Select[Any] | CompoundSelect[Any] | None:
    """A query of the user ids that have rows in a registered table, or None when rows of
    that table link to nobody that can be worked out from its columns."""
    table = registered(name)
    if name == "users":
        return select(table.c.id)
    if name == "organizations":
        return select(Membership.user_id)
    parts: list[Select[Any]] = []
    for column in table.c:
        if column.name == "user_id" or any(
            fk.column.table.name == "users" for fk in column.foreign_keys
        ):
            parts.append(select(column).where(column.is_not(None)))
    if "device_id" in table.c:
        # Everyone in the organisation owning the device, and the device's driver.
        devices = select(table.c.device_id).distinct().scalar_subquery()
        parts.append(
            select(Membership.user_id)
            .join(Device, Device.organization_id == Membership.organization_id)
            .where(Device.id.in_(devices))
        )
        parts.append(
            select(Device.driver_id).where(Device.id.in_(devices), Device.driver_id.is_not(None))
        )
    if "organization_id" in table.c:
        orgs = select(table.c.organization_id).distinct().scalar_subquery()
        parts.append(select(Membership.user_id).where(Membership.organization_id.in_(orgs)))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else parts[0].union(*parts[1:])


@dataclass(slots=True)
class Affected:
    """The people a breach reaches, and per table how many; tables that could not be
    resolved to people are listed so an operator checks them by hand."""

    user_ids: set[uuid.UUID] = field(default_factory=set)
    by_table: dict[str, int] = field(default_factory=dict)
    unresolved: list[str] = field(default_factory=list)


async def affected_people(db: AsyncSession, categories: Iterable[str]) -> Affected:
    """Everyone with data in a table the registry lists under any of these categories."""
    wanted = set(categories)
    result = Affected()
    for name, entry in sorted(REGISTRY.items()):
        if not wanted & {c.value for c in entry.categories}:
            continue
        query = _people_of_table(name)
        if query is None:
            result.unresolved.append(name)
            continue
        ids = set(await db.scalars(select(User.id).where(User.id.in_(query.scalar_subquery()))))
        result.by_table[name] = len(ids)
        result.user_ids |= ids
    return result


async def get_breach(db: AsyncSession, breach_id: uuid.UUID) -> Breach:
    breach = await db.get(Breach, breach_id)
    if breach is None:
        raise NotFound("breach not found")
    return breach


async def notify_affected(
    db: AsyncSession, mailer: Mailer, *, breach_id: uuid.UUID, now: datetime
) -> dict[str, int]:
    """Mail every affected person who has not been told about this breach; idempotent."""
    breach = await get_breach(db, breach_id)
    affected = await affected_people(db, breach.categories)
    told = set(
        await db.scalars(
            select(BreachNotification.user_id).where(BreachNotification.breach_id == breach.id)
        )
    )
    sent = 0
    for user_id in sorted(affected.user_ids - told):
        person = await db.get(User, user_id)
        if person is None:
            continue
        try:
            async with db.begin_nested():
                db.add(BreachNotification(breach_id=breach.id, user_id=user_id, notified_at=now))
                await db.flush()
        except IntegrityError:
            continue  # told by a concurrent run
        mailer.queue(
            db,
            to=person.email,
            user_id=person.id,
            subject="A security incident at camtel may affect your data",
            body=(
                f"On {breach.detected_at:%Y-%m-%d} we found a security incident that may "
                f"concern your data ({', '.join(breach.categories)}).\n\n{breach.description}\n\n"
                "We have contained it and reported it to the supervisory authority as the law "
                "requires. If you have questions, write to our data-protection officer "
                "through the contact form.\n"
            ),
        )
        sent += 1
    breach.people_notified_at = breach.people_notified_at or now
    await db.flush()
    log.info("breach notifications sent", extra={"breach": str(breach.id), "sent": sent})
    return {"notified": sent, "already_told": len(told), "affected": len(affected.user_ids)}


def notify_breach(settings: Any, breach_id: str) -> dict[str, int]:
    """`camtel privacy breach notify ID`: tell every affected person once, then send mail."""
    from camtel.db.base import utcnow
    from camtel.db.engine import Database
    from camtel.db.migrate import upgrade

    upgrade(settings.sqlalchemy_url)

    async def run() -> dict[str, int]:
        database = Database(settings.sqlalchemy_url)
        mailer = Mailer(settings, database)
        try:
            async with database.session() as db:
                counts = await notify_affected(
                    db, mailer, breach_id=uuid.UUID(breach_id), now=utcnow()
                )
            counts["delivered"] = 0
            while sent := await mailer.deliver_pending():  # 100 per round
                counts["delivered"] += sent
            return counts
        finally:
            await database.dispose()

    return asyncio.run(run())
