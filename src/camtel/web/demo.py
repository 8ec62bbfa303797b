"""Booking a demo: the free slots of the sales team's availability (shown in the visitor's time
zone by demo.js, in the team's without a script), the booking form, and the link in the
confirmation mail that cancels the booking. Without JavaScript the form is a plain POST."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from babel.dates import format_date, format_time
from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from camtel.accounts.ratelimit import peer_address
from camtel.errors import CamtelError, Conflict, RateLimited
from camtel.sales import bookings, catalogue
from camtel.sales.availability import Availability
from camtel.sales.schemas import BookingIn
from camtel.web.formpost import check_post
from camtel.web.i18n import Language
from camtel.web.pages import MaybeSignedIn, PageServices
from camtel.web.public import INDEXABLE
from camtel.web.public_forms import field_errors, form_fields
from camtel.web.render import render, request_language

router = APIRouter(include_in_schema=False)

#: The cancellation link is a capability: never sent on as a referrer. (Its page's form post
#: then names no origin; it needs no post check, as the token itself is the proof.)
PRIVATE = {"Referrer-Policy": "no-referrer"}


def days(free: list[datetime], availability: Availability, lang: Language) -> list[dict[str, Any]]:
    """Free slots grouped by the team's calendar day, with their local times."""
    tz = availability.zone
    out: list[dict[str, Any]] = []
    for index, start in enumerate(free):
        local = start.astimezone(tz)
        day = local.date().isoformat()
        if not out or out[-1]["date"] != day:
            label = format_date(local.date(), "EEEE, d MMMM", locale=lang.code)
            out.append({"date": day, "label": label, "slots": []})
        out[-1]["slots"].append(
            {
                "id": f"slot-{index}",
                "start": start.isoformat(),
                "time": format_time(local, "HH:mm", locale=lang.code),
            }
        )
    return out


def messages(lang: Language, reasons: dict[str, str], *, taken: bool = False) -> dict[str, str]:
    """Refusals of a booking, in the page's words, by field."""
    _ = lang.gettext
    out: dict[str, str] = {}
    for field, reason in reasons.items():
        if field == "start":
            out[field] = (
                _("Someone has just booked this time. Please choose another.")
                if taken
                else _("Choose a time for the demo.")
                if "required" in reason.lower() or "must be a time" in reason
                else _("This time can no longer be booked. Please choose another.")
            )
        elif field == "name":
            out[field] = _("Enter your name.")
        elif field == "email":
            out[field] = (
                _(
                    "This address already has two demos booked. Cancel one with the link in "
                    "its mail first."
                )
                if "already has" in reason
                else _("Enter a valid email address.")
            )
        elif field in ("company", "message"):
            most = 200 if field == "company" else 2000
            out[field] = _("Use at most {count} characters.").format(count=most)
        else:
            out[field] = reason
    return out


async def _page(
    request: Request,
    services: PageServices,
    caller: MaybeSignedIn,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    booked: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    availability = catalogue.load(services.settings.price_table).demo
    lang = request_language(request)
    async with services.database.session() as db:
        free = await bookings.free_slots(db, availability, now=services.clock())
    return render(
        request,
        "demo.html",
        settings=services.settings,
        caller=caller,
        status_code=status_code,
        headers=INDEXABLE,
        scripts=("demo.js",),
        page_data={
            "slots": [
                {"start": s.isoformat(), "end": (s + availability.slot).isoformat()} for s in free
            ],
            "teamZone": availability.time_zone,
        },
        days=days(free, availability, lang),
        team_zone=availability.time_zone,
        slot_minutes=availability.slot_minutes,
        days_ahead=availability.days_ahead,
        values=values or {},
        errors=errors or {},
        booked=booked,
    )


@router.get("/demo")
async def demo_page(
    request: Request, services: PageServices, caller: MaybeSignedIn
) -> HTMLResponse:
    return await _page(request, services, caller)


@router.post("/demo/book")
async def book_demo(
    request: Request,
    services: PageServices,
    caller: MaybeSignedIn,
    background: BackgroundTasks,
) -> HTMLResponse:
    """Book the chosen slot (the form without JavaScript)."""
    fields = await form_fields(request)
    check_post(request, caller, str(fields.get("csrf", "")), services.settings.public_url)
    lang = request_language(request)
    availability = catalogue.load(services.settings.price_table).demo
    values = {k: str(fields.get(k, "")) for k in ("start", "name", "email", "company", "message")}
    try:
        details = BookingIn.model_validate(
            {
                **values,
                "start": values["start"] or None,
                "time_zone": str(fields.get("time_zone", "")) or availability.time_zone,
                "language": lang.code,
            }
        )
        services.limiters.per_address.check(peer_address(request))
        async with services.database.session() as db:
            done = await bookings.book(
                db,
                services.mailer,
                availability=availability,
                details=details,
                caller=caller.user if caller else None,
                base_url=services.settings.base_url,
                sales_email=catalogue.sales_address(services.settings),
                now=services.clock(),
                retention_days=services.settings.lead_retention_days,
            )
    except RateLimited:
        errors = {"": lang.gettext("Too many attempts; wait a few minutes and try again.")}
        return await _page(request, services, caller, values=values, errors=errors, status_code=429)
    except (ValidationError, CamtelError) as exc:
        taken = isinstance(exc, Conflict)
        errors = messages(lang, field_errors(exc), taken=taken)
        if taken or "start" in errors:
            values["start"] = ""  # that slot is gone or was never there: choose again
        return await _page(
            request,
            services,
            caller,
            values=values,
            errors=errors,
            status_code=409 if taken else 422,
        )
    background.add_task(services.mailer.deliver_pending)
    row = done.booking
    booked = {
        "start": row.starts_at.isoformat(),
        "end": row.ends_at.isoformat(),
        "email": row.email,
        "zone": row.time_zone,
    }
    return await _page(request, services, caller, booked=booked, status_code=201)


@router.get("/demo/booking")
async def booking_page(
    request: Request, services: PageServices, caller: MaybeSignedIn, token: str = ""
) -> HTMLResponse:
    """The link in the confirmation mail: the booked demo, and a button that cancels it."""
    async with services.database.session() as db:
        row = await bookings.by_token(db, token)
    shown = None
    if row is not None:
        shown = {
            "start": row.starts_at.isoformat(),
            "end": row.ends_at.isoformat(),
            "name": row.name,
            "zone": row.time_zone,
        }
    return render(
        request,
        "demo_booking.html",
        settings=services.settings,
        caller=caller,
        status_code=200 if row else 404,
        headers=PRIVATE,
        booking=shown,
        token=token[:128],
        cancelled=False,
    )


@router.post("/demo/booking")
async def cancel_booking(
    request: Request,
    services: PageServices,
    caller: MaybeSignedIn,
    background: BackgroundTasks,
) -> HTMLResponse:
    """Cancel a booking by the link in its mail; its slot is free again. The unguessable token
    is what authorises it, so another site cannot forge the post."""
    fields = await form_fields(request)
    async with services.database.session() as db:
        row = await bookings.cancel(
            db,
            services.mailer,
            token=str(fields.get("token", "")),
            base_url=services.settings.base_url,
            sales_email=catalogue.sales_address(services.settings),
            now=services.clock(),
        )
    if row is not None:
        background.add_task(services.mailer.deliver_pending)
    return render(
        request,
        "demo_booking.html",
        settings=services.settings,
        caller=caller,
        status_code=200 if row else 404,
        headers=PRIVATE,
        booking=None,
        token="",
        cancelled=row is not None,
    )
