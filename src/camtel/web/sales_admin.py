"""The sales page of the admin (operators): upcoming demos and saved quotes, with CSV
downloads of both from the API. Reading them is audited for people with an account (P15)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from babel.numbers import format_currency
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from camtel.sales import bookings, catalogue, leads
from camtel.web.admin import SALES_PATH, admin_page, admin_scope
from camtel.web.pages import PageServices, SignedIn
from camtel.web.pricing import summary_text
from camtel.web.render import request_language

router = APIRouter(include_in_schema=False)

#: The most rows of each list the page shows; the CSV downloads hold them all.
SHOWN = 200


@router.get(SALES_PATH)
async def sales_page(
    request: Request, services: PageServices, caller: SignedIn, org: str | None = None
) -> HTMLResponse:
    scope = await admin_scope(services, caller, org, need_org=False, need_operator=True)
    lang = request_language(request)
    table = catalogue.load(services.settings.price_table)
    now = services.clock()
    async with services.database.session() as db:
        demos = await bookings.upcoming(db, now=now, limit=SHOWN)
        quotes = await leads.listing(db, limit=SHOWN)
        leads.audit_reads(db, demos, actor=caller.user.id, kind="demo_booking", now=now)
        leads.audit_reads(db, quotes, actor=caller.user.id, kind="lead", now=now)

    def total(snapshot: dict[str, Any]) -> str:
        amount = Decimal(str(snapshot.get("total", "0")))
        return format_currency(amount, snapshot.get("currency", "EUR"), locale=lang.code)

    return admin_page(
        request,
        services,
        caller,
        scope,
        "admin_sales.html",
        operator_page=True,
        demos=[
            {
                "start": row.starts_at.isoformat(),
                "name": row.name,
                "email": row.email,
                "company": row.company,
                "message": row.message,
                "zone": row.time_zone,
            }
            for row in demos
        ],
        quotes=[
            {
                "created_at": row.created_at.isoformat(),
                "name": row.name,
                "email": row.email,
                "company": row.company,
                "phone": row.phone,
                "message": row.message,
                "summary": summary_text(table, row.quote or {}, lang),
                "total": total(row.quote or {}),
            }
            for row in quotes
        ],
        shown=SHOWN,
    )
