"""The fleet page: every vehicle live on a map and in a list."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from camtel.web.pages import PageServices, SignedIn, app_page

router = APIRouter(include_in_schema=False)


@router.get("/app")
async def fleet_page(request: Request, services: PageServices, caller: SignedIn) -> HTMLResponse:
    return app_page(request, services, caller, "fleet.html", scripts=("fleet.js",))
