"""One-click unsubscribe from product news (RFC 8058), outside /api/v1 so links stay short.

`POST /u/{token}` is what mail clients send for List-Unsubscribe-Post; `GET /u/{token}` is the
link in the body: a page with one button that POSTs (a GET never changes anything, so mail
scanners that open links cannot unsubscribe anyone). Neither needs a sign-in or sets a cookie.
"""

from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import APIRouter
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse

from camtel.api.deps import Db, Svc
from camtel.errors import NotFound
from camtel.notify import news

router = APIRouter(tags=["public"])

Token = Annotated[str, PathParam(max_length=128, description="The token of a mailed link.")]

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>camtel: {title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>{title}</h1>{content}</main></body></html>
"""


def _page(title: str, content: str) -> HTMLResponse:
    return HTMLResponse(
        _PAGE.format(title=escape(title), content=content),
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


@router.get(
    "/u/{token}",
    response_class=HTMLResponse,
    summary="The page of an unsubscribe link: one button withdraws consent to product news",
)
async def unsubscribe_page(token: Token, db: Db, services: Svc) -> HTMLResponse:
    key = news.load_key(services.settings.data_dir)
    if await news.resolve(db, key=key, token=token) is None:
        raise NotFound("this link is not valid")
    return _page(
        "Stop product news",
        '<p>Stop receiving product news from camtel by email?</p><form method="post">'
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit">Unsubscribe</button></form>',
    )


@router.post(
    "/u/{token}",
    response_class=HTMLResponse,
    summary="Unsubscribe from product news with one click (RFC 8058): withdraws the consent",
)
async def unsubscribe(token: Token, db: Db, services: Svc) -> HTMLResponse:
    key = news.load_key(services.settings.data_dir)
    row = await news.unsubscribe(db, key=key, token=token, now=services.clock())
    if row is None:
        raise NotFound("this link is not valid")
    return _page(
        "Unsubscribed",
        "<p>You will receive no more product news from camtel. You can change this in your "
        "privacy settings at any time.</p>",
    )
