"""The invitations page: the organisations that invited this person, to accept or decline (the
invitation mail links here)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from camtel.accounts import invitations
from camtel.web.pages import PageServices, SignedIn, app_page

router = APIRouter(include_in_schema=False)


@router.get("/app/invitations")
async def invitations_page(
    request: Request, services: PageServices, caller: SignedIn
) -> HTMLResponse:
    async with services.database.session() as db:
        pending = await invitations.pending_for_person(
            db, user=caller.user, now=services.clock()
        )
    rows = [
        {
            "id": str(invitation.id),
            "organization": name,
            "role": invitation.role,
            "expires_at": invitation.expires_at.isoformat(),
        }
        for invitation, name in pending
    ]
    return app_page(
        request, services, caller, "invitations.html", scripts=("invitations.js",), invitations=rows
    )
