"""Demo bookings: free slots of the configured availability, one booking per slot (the
database's unique start refuses a second one, even in a race), a confirmation with a calendar
invitation, cancellation through the link in that mail."""

from __future__ import annotations

import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.accounts.models import User
from camtel.errors import Conflict, Invalid
from camtel.mail.outbox import Attachment, Mailer
from camtel.sales import ics, mails
from camtel.sales.availability import Availability, offered, refusal
from camtel.sales.leads import owner_id, token_hash
from camtel.sales.models import DemoBooking
from camtel.sales.schemas import BookingIn

log = logging.getLogger(__name__)

#: Twelve months after the demo, the booking is forgotten.
RETENTION_DAYS = 365
#: Upcoming demos one address may hold at once (a form must not empty the calendar).
MAX_UPCOMING_PER_EMAIL = 2


class SlotTaken(Conflict):
    """Someone booked this slot first."""

    type, title = "slot-taken", "This time is already booked"


async def free_slots(
    db: AsyncSession, availability: Availability, *, now: datetime
) -> list[datetime]:
    """The offered slot starts (UTC) nobody has booked yet."""
    starts = offered(availability, now)
    if not starts:
        return []
    taken = set(
        await db.scalars(
            select(DemoBooking.starts_at).where(
                DemoBooking.starts_at >= starts[0], DemoBooking.starts_at <= starts[-1]
            )
        )
    )
    return [start for start in starts if start not in taken]


def _invitation(
    row: DemoBooking, *, base_url: str, sales_email: str, sequence: int = 0
) -> ics.Invitation:
    host = urlsplit(base_url).hostname or "camtel.invalid"
    return ics.Invitation(
        uid=f"demo-{row.id}@{host}",
        start=row.starts_at,
        end=row.ends_at,
        summary="camtel demo",
        description=(
            "A demonstration of camtel with our sales team. We send the link to join before "
            "the demo. To cancel, use the link in your confirmation mail."
        ),
        location="Online",
        attendee_name=row.name,
        attendee_email=row.email,
        organizer_name="camtel sales",
        organizer_email=sales_email,
        sequence=sequence,
    )


@dataclass(frozen=True, slots=True)
class Booked:
    booking: DemoBooking
    token: str
    invitation: str  # the iCalendar text mailed


async def book(
    db: AsyncSession,
    mailer: Mailer,
    *,
    availability: Availability,
    details: BookingIn,
    caller: User | None,
    base_url: str,
    sales_email: str,
    now: datetime,
    retention_days: int = RETENTION_DAYS,
) -> Booked:
    """Book the slot starting at `details.start` for this visitor, and queue the mails.
    Invalid (422) for a time in the past or outside the availability; SlotTaken (409) when
    someone booked it first."""
    problem = refusal(availability, details.start, now)
    if problem is not None:
        raise Invalid(problem.message, field="start", code=problem.code)
    start = details.start.astimezone(UTC)
    upcoming = await db.scalar(
        select(func.count())
        .select_from(DemoBooking)
        .where(DemoBooking.email == details.email, DemoBooking.starts_at > now)
    )
    if (upcoming or 0) >= MAX_UPCOMING_PER_EMAIL:
        raise Invalid(
            f"this address already has {MAX_UPCOMING_PER_EMAIL} demos booked; cancel one "
            "through the link in its mail first",
            field="email",
            code="too_many",
        )
    token = secrets.token_urlsafe(32)
    row = DemoBooking(
        user_id=await owner_id(db, email=details.email, caller=caller),
        starts_at=start,
        ends_at=start + availability.slot,
        name=details.name,
        email=details.email,
        company=details.company,
        message=details.message,
        time_zone=details.time_zone,
        language=details.language,
        token_hash=token_hash(token),
        created_at=now,
        expires_at=start + timedelta(days=retention_days),
    )
    taken = SlotTaken(
        "this time has just been booked by someone else; choose another", field="start"
    )
    if await db.scalar(select(DemoBooking.id).where(DemoBooking.starts_at == start)):
        raise taken
    try:
        async with db.begin_nested():
            db.add(row)
            await db.flush()
    except IntegrityError:  # booked between the check and the insert
        raise taken from None
    invitation = ics.calendar(
        _invitation(row, base_url=base_url, sales_email=sales_email), now=now, method="REQUEST"
    )
    attachment = Attachment("invite.ics", _calendar_type(invitation), invitation)
    reference = str(row.id)
    mail = mails.booking_mail(
        name=row.name,
        start=row.starts_at,
        end=row.ends_at,
        time_zone=row.time_zone,
        cancel_url=f"{base_url}/demo/booking?token={token}",
        reference=reference,
    )
    mailer.queue(
        db,
        to=row.email,
        subject=mail.subject,
        body=mail.text,
        attachments=[attachment],
        user_id=row.user_id,
    )
    if sales_email:
        note = mails.new_booking_mail(
            name=row.name,
            email=row.email,
            company=row.company,
            message=row.message,
            start=row.starts_at,
            end=row.ends_at,
            team_zone=availability.time_zone,
            reference=reference,
            admin_url=f"{base_url}/app/admin/sales",
        )
        mailer.queue(
            db,
            to=sales_email,
            subject=note.subject,
            body=note.text,
            attachments=[attachment],
            user_id=None,
        )
    log.info("demo booked", extra={"booking": reference, "start": start.isoformat()})
    return Booked(row, token, invitation)


def _calendar_type(text: str) -> str:
    method = next(
        (line.split(":", 1)[1] for line in text.splitlines() if line.startswith("METHOD:")),
        "PUBLISH",
    )
    return f"text/calendar; method={method}"


async def by_token(db: AsyncSession, token: str) -> DemoBooking | None:
    """The booking a mailed link names, or None."""
    if not token or len(token) > 128:
        return None
    return await db.scalar(select(DemoBooking).where(DemoBooking.token_hash == token_hash(token)))


async def cancel(
    db: AsyncSession,
    mailer: Mailer,
    *,
    token: str,
    base_url: str,
    sales_email: str,
    now: datetime,
) -> DemoBooking | None:
    """Cancel the booking a mailed link names: the row goes (its slot is free again) and the
    visitor gets the calendar cancellation. None when there is no such booking (any more)."""
    row = await by_token(db, token)
    if row is None:
        return None
    cancellation = ics.calendar(
        _invitation(row, base_url=base_url, sales_email=sales_email, sequence=1),
        now=now,
        method="CANCEL",
    )
    attachment = Attachment("cancel.ics", _calendar_type(cancellation), cancellation)
    mail = mails.cancelled_mail(
        name=row.name, start=row.starts_at, end=row.ends_at, time_zone=row.time_zone
    )
    mailer.queue(
        db,
        to=row.email,
        subject=mail.subject,
        body=mail.text,
        attachments=[attachment],
        user_id=row.user_id,
    )
    if sales_email:
        mailer.queue(
            db,
            to=sales_email,
            subject=f"[camtel demo] cancelled: {row.starts_at.isoformat()}",
            body=f"The demo {row.id} at {row.starts_at.isoformat()} was cancelled by its guest.\n",
            attachments=[attachment],
            user_id=None,
        )
    await db.delete(row)
    await db.flush()
    log.info("demo cancelled by its guest", extra={"booking": str(row.id)})
    return row


async def listing(
    db: AsyncSession, *, limit: int, after: uuid.UUID | None = None
) -> list[DemoBooking]:
    """Bookings, newest booking first (ids are time-ordered), for the sales team."""
    query = select(DemoBooking).order_by(DemoBooking.id.desc()).limit(limit)
    if after is not None:
        query = query.where(DemoBooking.id < after)
    return list(await db.scalars(query))


async def upcoming(db: AsyncSession, *, now: datetime, limit: int) -> list[DemoBooking]:
    """Demos not over yet, soonest first, for the sales team."""
    query = (
        select(DemoBooking)
        .where(DemoBooking.ends_at > now)
        .order_by(DemoBooking.starts_at)
        .limit(limit)
    )
    return list(await db.scalars(query))
