"""One-click unsubscribe from product news (RFC 8058), outside /api/v1 so links stay short.

`GET /u/{token}` is the link in the mail's body: a page with one button that POSTs (a GET never
changes anything, so mail scanners that open links unsubscribe no one). `POST /u/{token}` is
that button, and what mail clients send for `List-Unsubscribe-Post`. Neither needs a sign-in
or sets a cookie; both answer in the reader's language.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse

from camtel.errors import NotFound
from camtel.notify import news
from camtel.web.pages import PageServices
from camtel.web.render import render

router = APIRouter(include_in_schema=False)

Token = Annotated[str, PathParam(max_length=128, description="The token of a mailed link.")]
#: The link's token must not leave in a Referer to anything the page links to.
HEADERS = {"Referrer-Policy": "no-referrer"}


@router.get("/u/{token}")
async def unsubscribe_page(token: Token, request: Request, services: PageServices) -> HTMLResponse:
    async with services.database.session() as db:
        known = await news.resolve(db, key=news.load_key(services.settings.data_dir), token=token)
    if known is None:
        raise NotFound("this link is not valid")
    return render(
        request, "unsubscribe.html", settings=services.settings, done=False, headers=HEADERS
    )


@router.post("/u/{token}")
async def unsubscribe(token: Token, request: Request, services: PageServices) -> HTMLResponse:
    async with services.database.session() as db:
        row = await news.unsubscribe(
            db, key=news.load_key(services.settings.data_dir), token=token, now=services.clock()
        )
    if row is None:
        raise NotFound("this link is not valid")
    return render(
        request, "unsubscribe.html", settings=services.settings, done=True, headers=HEADERS
    )
