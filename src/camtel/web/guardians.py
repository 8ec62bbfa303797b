"""Guardians' pages: the link in a guardian invitation (`/guardian?token=`), and the wards
page (`/app/privacy/wards`) where a guardian allows or refuses collecting a minor's data and
can have it erased."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from camtel.accounts.age import AgeBasis
from camtel.web.account import MAX_TOKEN
from camtel.web.pages import PageServices, SignedIn, app_page

router = APIRouter(include_in_schema=False)


@router.get("/guardian")
async def guardian_link(
    request: Request, services: PageServices, caller: SignedIn, token: str = ""
) -> HTMLResponse:
    """The mailed invitation. Signing in comes first (the sign-in page brings the person back
    here); confirming is a button, so that opening the link alone decides nothing."""
    usable = bool(token) and len(token) <= MAX_TOKEN
    return app_page(
        request,
        services,
        caller,
        "guardian.html",
        scripts=("guardian.js",),
        email=caller.user.email,
        usable=usable,
        # An account whose age was never stated confirms being an adult here (P20).
        ask_age=caller.user.age_basis == AgeBasis.UNSTATED,
        status_code=200 if usable else 400,
        page_data={"token": token if usable else ""},
    )


@router.get("/app/privacy/wards")
async def wards_page(request: Request, services: PageServices, caller: SignedIn) -> HTMLResponse:
    return app_page(request, services, caller, "wards.html", scripts=("wards.js",))
