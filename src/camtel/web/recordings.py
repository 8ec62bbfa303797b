"""The recordings pages: the library (thumbnails, filters, resumable upload) and the player
(the video beside a map of its embedded track on one clock, events on a timeline, sharing)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from camtel.errors import NotFound
from camtel.media import service as media
from camtel.web.pages import PageServices, SignedIn, app_page

router = APIRouter(include_in_schema=False)


@router.get("/app/recordings")
async def library_page(request: Request, services: PageServices, caller: SignedIn) -> HTMLResponse:
    # The filters (`?device=`, `?day=`, `?events=1`, `?locked=1`) are read by the script,
    # which keeps them in the address as they change.
    return app_page(request, services, caller, "recordings.html", scripts=("recordings.js",))


@router.get("/app/recordings/{media_id}")
async def player_page(
    media_id: str, request: Request, services: PageServices, caller: SignedIn
) -> HTMLResponse:
    """Another organisation's recording, a missing one and a malformed id all answer the
    same 404: the page tells nothing about recordings the caller may not see."""
    try:
        wanted = uuid.UUID(media_id)
    except ValueError:
        raise NotFound("media not found") from None
    async with services.database.session() as db:
        found = await media.get(db, caller=caller, media_id=wanted)
        may_share = media.may_change(caller, found)
    return app_page(
        request,
        services,
        caller,
        "recording.html",
        scripts=("recording.js",),
        page_data={"mediaId": str(found.id), "mayShare": may_share},
        may_share=may_share,
    )
