"""The sales side of the public site (P23): quotes, saved quotes (leads), demo slots and
bookings, no sign-in needed; and for operators, the leads and bookings as JSON or CSV."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request, Response, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from camtel.accounts.caller import Caller
from camtel.api.deps import SESSION_COOKIE, CallerDep, Db, Svc, client_address, get_caller
from camtel.api.pagination import Cursor, Limit, encode_cursor, id_cursor
from camtel.errors import Forbidden, Unauthorized
from camtel.privacy.consent import Channel
from camtel.sales import bookings, catalogue, leads, reports
from camtel.sales.pricing import MAX_DEVICES, QuoteRequest, quote
from camtel.sales.schemas import BookingIn, LeadIn
from camtel.services import Services

router = APIRouter(tags=["sales"])

_bearer = HTTPBearer(auto_error=False, description="Optional: a token from /api/v1/auth/token")


async def lenient_caller(
    request: Request,
    services: Svc,
    db: Db,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller | None:
    """The signed-in person, if any. A sign-in that has ended (an old session cookie) makes the
    request a visitor's, not a refusal: these forms are for everybody."""
    if bearer is None and not request.cookies.get(SESSION_COOKIE):
        return None
    try:
        return await get_caller(request, services, db, bearer)
    except (Unauthorized, Forbidden):
        return None


MaybeCaller = Annotated[Caller | None, Depends(lenient_caller)]


def table_of(services: Services) -> catalogue.Catalogue:
    """The operator's price table and demo availability (read once per process)."""
    return catalogue.load(services.settings.price_table)


def _limit(services: Services, request: Request) -> None:
    services.limiters.per_address.check(client_address(request))


# --- quotes --------------------------------------------------------------------------------


@router.post("/quotes", summary="Price devices to buy or rent, with options (no sign-in)")
async def price(body: QuoteRequest, services: Svc) -> dict[str, Any]:
    """`total` is what the quote costs with VAT: the one-off price when buying (monthly
    services in `monthly`), the whole lease when renting. The pricing page shows the same."""
    return quote(table_of(services), body).as_json()


@router.get("/quotes/options", summary="What can be quoted: modes, lease lengths, options")
async def quote_options(services: Svc) -> dict[str, Any]:
    table = table_of(services)
    return {
        "currency": table.currency,
        "vat_percent": str(table.vat_percent),
        "modes": ["buy", "rent"],
        "devices": {"min": 1, "max": MAX_DEVICES},
        "lease_months": table.lease_lengths,
        "options": [
            {"name": code, "label": option.label.en, "group": option.group or None}
            for code, option in table.options.items()
        ],
        "price_table": table.version,
    }


@router.post(
    "/leads",
    status_code=status.HTTP_201_CREATED,
    summary="Save a quote with contact details and consent; the quote is mailed (no sign-in)",
)
async def save_lead(
    body: LeadIn,
    request: Request,
    db: Db,
    services: Svc,
    caller: MaybeCaller,
    background: BackgroundTasks,
) -> dict[str, Any]:
    _limit(services, request)
    settings = services.settings
    saved = await leads.save(
        db,
        services.mailer,
        table=table_of(services),
        details=body,
        caller=caller.user if caller else None,
        base_url=settings.base_url,
        sales_email=catalogue.sales_address(settings),
        now=services.clock(),
        retention_days=settings.lead_retention_days,
    )
    if body.marketing and caller is not None:
        await leads.record_marketing(
            db, user_id=caller.user.id, now=services.clock(), channel=_channel(caller)
        )
    await db.commit()
    background.add_task(services.mailer.deliver_pending)
    return {
        "reference": str(saved.lead.id),
        "quote": saved.quote.as_json(),
        "mailed_to": saved.lead.email,
        "kept_until": saved.lead.expires_at.isoformat(),
        "consent_version": saved.lead.consent_version,
    }


def _channel(caller: Caller) -> Channel:
    web = caller.session is not None and caller.session.kind == "web"
    return Channel.WEB if web else Channel.API


# --- demos ---------------------------------------------------------------------------------


@router.get("/demo-slots", summary="Free demo slots (UTC), from the operator's availability")
async def demo_slots(db: Db, services: Svc) -> dict[str, Any]:
    availability = table_of(services).demo
    free = await bookings.free_slots(db, availability, now=services.clock())
    return {
        "time_zone": availability.time_zone,
        "slot_minutes": availability.slot_minutes,
        "slots": [
            {"start": start.isoformat(), "end": (start + availability.slot).isoformat()}
            for start in free
        ],
    }


@router.post(
    "/demo-bookings",
    status_code=status.HTTP_201_CREATED,
    summary="Book a free demo slot; the confirmation mail carries a calendar invitation",
    responses={409: {"description": "Someone booked this slot first (`slot-taken`)."}},
)
async def book_demo(
    body: BookingIn,
    request: Request,
    db: Db,
    services: Svc,
    caller: MaybeCaller,
    background: BackgroundTasks,
) -> dict[str, Any]:
    _limit(services, request)
    settings = services.settings
    booked = await bookings.book(
        db,
        services.mailer,
        availability=table_of(services).demo,
        details=body,
        caller=caller.user if caller else None,
        base_url=settings.base_url,
        sales_email=catalogue.sales_address(settings),
        now=services.clock(),
        retention_days=settings.lead_retention_days,
    )
    await db.commit()
    background.add_task(services.mailer.deliver_pending)
    row = booked.booking
    return {
        "reference": str(row.id),
        "start": row.starts_at.isoformat(),
        "end": row.ends_at.isoformat(),
        "time_zone": row.time_zone,
        "mailed_to": row.email,
    }


# --- for the sales team (operators) --------------------------------------------------------


def _operator(caller: Caller) -> None:
    if not caller.user.is_admin:
        raise Forbidden("only operators may see leads and demo bookings")


Format = Annotated[Literal["json", "csv"], Query(description="`csv` for a spreadsheet.")]


def _answer(
    rows: list[dict[str, Any]],
    *,
    more: bool,
    limit: int,
    fmt: str,
    name: str,
    columns: tuple[str, ...],
    request: Request,
    response: Response,
) -> Any:
    if fmt == "csv":
        return Response(
            reports.as_csv(rows, columns),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{name}.csv"',
                "Cache-Control": "no-store",
            },
        )
    if more:
        url = request.url.include_query_params(cursor=encode_cursor([rows[-1]["id"]]), limit=limit)
        response.headers["Link"] = f'<{url}>; rel="next"'
    response.headers["Cache-Control"] = "no-store"
    return rows


@router.get("/sales/leads", summary="Saved quotes, newest first (operators); ?format=csv")
async def list_leads(
    caller: CallerDep,
    db: Db,
    services: Svc,
    request: Request,
    response: Response,
    limit: Limit = 1000,
    cursor: Cursor = None,
    format: Format = "json",
) -> Any:
    _operator(caller)
    found = await leads.listing(db, limit=limit + 1, after=id_cursor(cursor))
    rows = found[:limit]
    leads.audit_reads(db, rows, actor=caller.user.id, kind="lead", now=services.clock())
    return _answer(
        [reports.lead_row(row) for row in rows],
        more=len(found) > limit,
        limit=limit,
        fmt=format,
        name="leads",
        columns=reports.LEAD_COLUMNS,
        request=request,
        response=response,
    )


@router.get("/sales/demo-bookings", summary="Demo bookings, newest first (operators); ?format=csv")
async def list_bookings(
    caller: CallerDep,
    db: Db,
    services: Svc,
    request: Request,
    response: Response,
    limit: Limit = 1000,
    cursor: Cursor = None,
    format: Format = "json",
) -> Any:
    _operator(caller)
    found = await bookings.listing(db, limit=limit + 1, after=id_cursor(cursor))
    rows = found[:limit]
    leads.audit_reads(db, rows, actor=caller.user.id, kind="demo_booking", now=services.clock())
    return _answer(
        [reports.booking_row(row) for row in rows],
        more=len(found) > limit,
        limit=limit,
        fmt=format,
        name="demo-bookings",
        columns=reports.BOOKING_COLUMNS,
        request=request,
        response=response,
    )
