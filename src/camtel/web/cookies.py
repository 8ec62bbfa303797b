"""Cookie settings (P11): the page listing every cookie camtel sets, with the choice about the
cookie-less statistics; and the form post that records the banner's choice without
JavaScript (with JavaScript the banner calls PUT /api/v1/cookie-consent instead)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from camtel.errors import Invalid
from camtel.privacy import consent
from camtel.privacy.consent import Channel, Purpose
from camtel.privacy.cookie_consent import (
    CONSENT_COOKIE,
    CONSENT_MAX_AGE,
    read_consent_cookie,
    record_choice,
)
from camtel.web.formpost import check_post, safe_path
from camtel.web.i18n import LANG_COOKIE
from camtel.web.pages import MaybeSignedIn, PageServices
from camtel.web.public import public_page
from camtel.web.session import CSRF_COOKIE, SESSION_COOKIE

router = APIRouter(include_in_schema=False)


@router.get("/cookies")
async def cookie_settings(
    request: Request, services: PageServices, caller: MaybeSignedIn
) -> HTMLResponse:
    visitor, choice = read_consent_cookie(request.cookies.get(CONSENT_COOKIE))
    since = None
    async with services.database.session() as db:
        if caller is not None:
            decision = await consent.decision(db, caller.user.id, Purpose.ANALYTICS)
        elif visitor is not None:
            decision = await consent.visitor_decision(db, visitor, Purpose.ANALYTICS)
        else:
            decision = None
    if decision is not None:
        choice, since = consent.is_given(decision), decision.time
    hours = services.settings.session_ttl_hours
    return public_page(
        request,
        services,
        caller,
        "cookies.html",
        choice=choice,
        since=since,
        cookies={
            "session": SESSION_COOKIE,
            "csrf": CSRF_COOKIE,
            "consent": CONSENT_COOKIE,
            "lang": LANG_COOKIE,
        },
        session_days=max(1, hours // 24),
        consent_months=CONSENT_MAX_AGE // (30 * 24 * 3600),
    )


@router.post("/cookies")
async def cookie_choice_posted(
    request: Request, services: PageServices, caller: MaybeSignedIn
) -> Response:
    """The banner's form without JavaScript: record the choice, then back to the page."""
    form = await request.form()
    analytics = str(form.get("analytics", ""))
    if analytics not in ("0", "1"):
        raise Invalid("choose whether your visits may be counted", field="analytics")
    check_post(request, caller, str(form.get("csrf", "")), services.settings.public_url)
    visitor, _ = read_consent_cookie(request.cookies.get(CONSENT_COOKIE))
    async with services.database.session() as db:
        recorded = await record_choice(
            db,
            analytics=analytics == "1",
            user_id=caller.user.id if caller else None,
            visitor=visitor,
            channel=Channel.WEB,
            now=services.clock(),
        )
    response = RedirectResponse(safe_path(str(form.get("next", "/"))), status_code=303)
    response.set_cookie(
        CONSENT_COOKIE,
        recorded.cookie,
        max_age=CONSENT_MAX_AGE,
        httponly=True,
        secure=services.settings.cookie_secure,
        samesite="lax",
        path="/",
    )
    return response
