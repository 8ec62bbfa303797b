"""The daily digest: yesterday's figures, mailed once per day to owners and managers.

`send_digests(database, mailer, now)` is meant to run every few minutes (any node, any number
of times): the pure `digest_day` and `who_is_due` decide whether a day is ready and who has not
had it, and the `digest_log` key (person, day) makes a repeated or concurrent run a no-op.
Days are UTC days; a person who had nothing happen gets no mail (the log still says so).
Missed days are not sent late: after an outage, only yesterday's digest goes out.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from camtel.accounts.models import Membership, Organization, User
from camtel.accounts.roles import Role
from camtel.db.engine import Database
from camtel.devices.models import Device
from camtel.mail.outbox import Mailer
from camtel.trips.detect import Rules
from camtel.trips.models import DigestLog
from camtel.trips.reports import Summary, device_summaries

log = logging.getLogger(__name__)

#: Default of the setting `CAMTEL_DIGEST_HOUR_UTC`: late uploads from dash cams that were
#: parked out of coverage have usually arrived by then.
DIGEST_HOUR_UTC = 6
DIGEST_ROLES = (Role.OWNER.value, Role.MANAGER.value)


def digest_day(now: datetime, send_hour: int = DIGEST_HOUR_UTC) -> date | None:
    """The day to digest at `now`: yesterday (UTC), once the sending hour has come."""
    now = now.astimezone(UTC)
    if now.hour < send_hour:
        return None
    return now.date() - timedelta(days=1)


def who_is_due(
    *, day: date | None, recipients: Iterable[uuid.UUID], last_sent: Mapping[uuid.UUID, date]
) -> list[uuid.UUID]:
    """The recipients whose latest digest is older than `day` (none while `day` is None)."""
    if day is None:
        return []
    return [r for r in recipients if (last_sent.get(r) or date.min) < day]


@dataclass(frozen=True, slots=True)
class Mail:
    subject: str
    body: str


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def _line(s: Summary) -> str:
    parts = [
        f"{s.distance_m / 1000:.1f} km",
        f"{s.trips} trips",
        f"{_duration(s.driving_s)} driving",
    ]
    if s.idle_s >= 60:
        parts.append(f"{_duration(s.idle_s)} idle")
    if s.max_speed_kmh is not None:
        parts.append(f"max {s.max_speed_kmh:.0f} km/h")
    if s.events:
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(s.events.items()))
        parts.append(f"events: {kinds}")
    return f"  {s.name}: " + ", ".join(parts)


def compose(day: date, organisations: Sequence[tuple[str, Sequence[Summary]]]) -> Mail | None:
    """The digest mail for one person, or None when none of their devices did anything."""
    sections = []
    for name, summaries in organisations:
        active = [s for s in summaries if s.positions or s.events]
        if active:
            quiet = len(summaries) - len(active)
            lines = [f"{name}:", *(_line(s) for s in active)]
            if quiet:
                lines.append(f"  ({quiet} other devices reported nothing)")
            sections.append("\n".join(lines))
    if not sections:
        return None
    body = (
        f"What your vehicles did on {day.isoformat()} (UTC).\n\n"
        + "\n\n".join(sections)
        + "\n\nYou receive this daily digest as an owner or manager in camtel.\n"
    )
    return Mail(subject=f"camtel daily digest for {day.isoformat()}", body=body)


async def send_digests(
    database: Database,
    mailer: Mailer,
    now: datetime,
    *,
    send_hour: int = DIGEST_HOUR_UTC,
    rules: Rules | None = None,
) -> int:
    """Queue yesterday's digest for everyone due; returns how many mails were queued.
    `rules` say what counts as a trip (the settings' own in the application)."""
    day = digest_day(now, send_hour)
    if day is None:
        return 0
    start = datetime.combine(day, time(), tzinfo=UTC)
    end = start + timedelta(days=1) - timedelta(microseconds=1)
    rules = rules or Rules()
    async with database.session() as db:
        rows = (
            await db.execute(
                select(User.id, User.email, Membership.organization_id)
                .join(Membership, Membership.user_id == User.id)
                .where(Membership.role.in_(DIGEST_ROLES), User.email_verified_at.is_not(None))
                .order_by(User.id, Membership.organization_id)
            )
        ).all()
        emails: dict[uuid.UUID, str] = {}
        orgs_of: dict[uuid.UUID, list[uuid.UUID]] = {}
        for user_id, email, org in rows:
            emails[user_id] = email
            orgs_of.setdefault(user_id, []).append(org)
        last_sent = dict(
            (
                await db.execute(
                    select(DigestLog.user_id, func.max(DigestLog.day))
                    .where(DigestLog.day >= day)
                    .group_by(DigestLog.user_id)
                )
            ).all()
        )
        due = who_is_due(day=day, recipients=emails, last_sent=last_sent)
        needed = {org for user in due for org in orgs_of[user]}
        names = dict(
            (
                await db.execute(
                    select(Organization.id, Organization.name).where(Organization.id.in_(needed))
                )
            ).all()
        )
        figures: dict[uuid.UUID, list[Summary]] = {}
        for org in sorted(needed):
            fleet = list(
                await db.scalars(
                    select(Device).where(Device.organization_id == org).order_by(Device.name)
                )
            )
            figures[org] = await device_summaries(
                db, devices_=fleet, start=start, end=end, rules=rules
            )
    queued = 0
    for user in due:
        mail = compose(day, [(names[org], figures[org]) for org in orgs_of[user]])
        try:
            async with database.session() as db:
                db.add(DigestLog(user_id=user, day=day, sent_at=now, mailed=mail is not None))
                await db.flush()  # the key (person, day) stops a second run here
                if mail is not None:
                    mailer.queue(
                        db, to=emails[user], subject=mail.subject, body=mail.body, user_id=user
                    )
        except IntegrityError:
            continue  # another run sent it first
        queued += mail is not None
    if queued:
        log.info("digests queued", extra={"day": day.isoformat(), "mails": queued})
    return queued
