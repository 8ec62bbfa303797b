"""The geofences page: draw, import, assign and edit fences on the map."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from camtel.web.pages import PageServices, SignedIn, app_page

router = APIRouter(include_in_schema=False)


@router.get("/app/geofences")
async def geofences_page(
    request: Request, services: PageServices, caller: SignedIn
) -> HTMLResponse:
    return app_page(request, services, caller, "geofences.html", scripts=("geofences.js",))
