"""The history page: chosen vehicles' day with trips, stops, downloads and a timed replay."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from camtel.web.pages import PageServices, SignedIn, app_page

router = APIRouter(include_in_schema=False)


@router.get("/app/history")
async def history_page(request: Request, services: PageServices, caller: SignedIn) -> HTMLResponse:
    # The vehicles (`?device=`, repeatable) and the day (`?day=YYYY-MM-DD`) are read by the
    # script, which also keeps them in the address as the choice changes.
    return app_page(request, services, caller, "history.html", scripts=("history.js",))
