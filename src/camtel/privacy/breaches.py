"""The breach register (GDPR Art. 33 and 34, P16): a personal-data breach with its detection
time, description and data categories, the 72-hour deadline to tell the supervisory
authority, the people it affects (everyone with rows in a table the registry lists under
those categories), and the one mail to each affected person, which running `notify` again
sends only to people added since; `camtel privacy breach notify` runs it from the CLI."""

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
from camtel.devices.models import Device
from camtel.errors import Invalid, NotFound
from camtel.mail.outbox import Mailer
from camtel.privacy.disclosures import check_categories
from camtel.privacy.models import Breach, BreachNotification
from camtel.privacy.registry import REGISTRY
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


# --- the register --------------------------------------------------------------------------


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
