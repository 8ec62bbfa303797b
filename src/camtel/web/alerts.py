"""The alerts page: the inbox, live, and the person's notification settings."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from camtel.events.models import EVENT_TYPES
from camtel.notify.rules import CHANNELS
from camtel.web.pages import PageServices, SignedIn, app_page

router = APIRouter(include_in_schema=False)


@router.get("/app/alerts")
async def alerts_page(request: Request, services: PageServices, caller: SignedIn) -> HTMLResponse:
    return app_page(
        request,
        services,
        caller,
        "alerts.html",
        scripts=("alerts.js",),
        page_data={"eventTypes": list(EVENT_TYPES), "channels": list(CHANNELS)},
    )
