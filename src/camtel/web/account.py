"""Pages of one's account: sign-in (registration, verification, reset and TOTP to follow)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from camtel.web.pages import MaybeSignedIn, PageServices
from camtel.web.render import render

router = APIRouter(include_in_schema=False)


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path of this site only (no open redirect)."""
    if value and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return "/app"


@router.get("/login")
async def login_page(
    request: Request, services: PageServices, caller: MaybeSignedIn, next: str | None = None
) -> Response:
    if caller is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(
        request,
        "login.html",
        settings=services.settings,
        scripts=("signin.js",),
        next_url=safe_next(next),
    )
