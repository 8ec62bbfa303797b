"""Pages of one's account: sign-in, registration, the mailed links (verification, password
reset), and the account page with its profile, password, second factor and sessions."""

from __future__ import annotations

import io

import segno
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from camtel.accounts import passwords, service
from camtel.errors import CamtelError
from camtel.web.pages import MaybeSignedIn, PageServices, SignedIn, app_page
from camtel.web.render import render

router = APIRouter(include_in_schema=False)

#: The longest token a mailed link carries (the API's bound, too).
MAX_TOKEN = 128


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path of this site only (no open redirect)."""
    if value and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return "/app"


def password_rules(services: PageServices) -> dict[str, int]:
    """What the password hint tells (the rules themselves live in accounts.passwords)."""
    return {"min": services.settings.password_min_length, "max": passwords.MAX_LENGTH}


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


@router.get("/register")
async def register_page(
    request: Request, services: PageServices, caller: MaybeSignedIn
) -> Response:
    if caller is not None:
        return RedirectResponse("/app", status_code=303)
    return render(
        request,
        "register.html",
        settings=services.settings,
        scripts=("register.js",),
        rules=password_rules(services),
    )


@router.get("/verify")
async def verify_page(
    request: Request, services: PageServices, caller: MaybeSignedIn, token: str = ""
) -> HTMLResponse:
    """The link in the verification mail: confirms the address here, on the server, and says so."""
    confirmed = False
    if token and len(token) <= MAX_TOKEN:
        try:
            async with services.database.session() as db:
                await service.verify_email(db, token=token, now=services.clock())
            confirmed = True
        except CamtelError:
            confirmed = False
    return render(
        request,
        "verify.html",
        settings=services.settings,
        caller=caller,
        status_code=200 if confirmed else 400,
        confirmed=confirmed,
        spent_query=("token",),
    )


@router.get("/reset")
async def reset_page(
    request: Request, services: PageServices, caller: MaybeSignedIn, token: str = ""
) -> HTMLResponse:
    """Without a token: ask for the address to mail a link to; with one: the new password."""
    return render(
        request,
        "reset.html",
        settings=services.settings,
        caller=caller,
        scripts=("reset.js",),
        token=token[:MAX_TOKEN],
        rules=password_rules(services),
    )


@router.get("/app/account")
async def account_page(request: Request, services: PageServices, caller: SignedIn) -> HTMLResponse:
    user = caller.user
    return app_page(
        request,
        services,
        caller,
        "account.html",
        scripts=("account.js",),
        profile={
            "email": user.email,
            "display_name": user.display_name,
            "phone": user.phone,
            "totp_enabled": user.totp_enabled,
        },
        rules=password_rules(services),
    )


@router.get("/app/account/totp.svg")
async def totp_qr(services: PageServices, caller: SignedIn) -> Response:
    """The QR code of the caller's enrolment in progress (POST /api/v1/me/totp began it).

    The code carries the secret: it goes to the signed-in person alone, is never stored by a
    cache, and neither it nor the URI is ever logged."""
    uri = service.pending_totp_uri(caller.user)
    if uri is None:
        return Response(status_code=404, headers={"Cache-Control": "no-store"})
    svg = io.BytesIO()
    segno.make(uri, error="m").save(
        svg, kind="svg", scale=5, border=4, dark="#000", light="#fff", xmldecl=False
    )
    return Response(
        svg.getvalue(),
        media_type="image/svg+xml",
        headers={"Cache-Control": "no-store", "X-Robots-Tag": "noindex"},
    )
