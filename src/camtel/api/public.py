"""Public privacy endpoints, no sign-in needed: the policy in force, the contact form (to the
DPO or to sales), diagnostics upload (signed in or not), the cookie-less page-view counter and
cookie consent.

Cookie consent (P11): camtel sets only strictly necessary cookies — the web session, its CSRF
token, and `camtel_consent`, which remembers the banner choice. The banner's one optional
choice, "analytics", is the ledger purpose `analytics` (count my visits in the usage
statistics): a signed-in caller's choice is recorded under their account; an anonymous
visitor's under a random visitor id that lives only in the consent cookie. Anonymous visits
without any choice are counted cookie-less as before (P10); a "no" stops that too.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, Path, Request, Response, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import Field

from camtel.accounts.caller import Caller
from camtel.api.deps import SESSION_COOKIE, Db, Svc, client_address, get_caller
from camtel.api.schemas import Strict
from camtel.errors import CamtelError, Forbidden
from camtel.privacy import analytics, consent, contact, diagnostics, minors, policies
from camtel.privacy.consent import Channel, Purpose
from camtel.privacy.cookie_consent import (
    CONSENT_COOKIE,
    CONSENT_MAX_AGE,
    read_consent_cookie,
    record_choice,
)

# The consent cookie and its reading live with the ledger logic in privacy.cookie_consent (the
# pages' form that works without JavaScript records choices through it too).
__all__ = ["CONSENT_COOKIE", "CONSENT_MAX_AGE", "read_consent_cookie", "router"]

router = APIRouter(tags=["public"])

_bearer = HTTPBearer(auto_error=False, description="Optional: a token from /api/v1/auth/token")


async def optional_caller(
    request: Request,
    services: Svc,
    db: Db,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller | None:
    """The signed-in person when credentials are sent (and must then be valid), else None."""
    if bearer is None and not request.cookies.get(SESSION_COOKIE):
        return None
    return await get_caller(request, services, db, bearer)


OptionalCaller = Annotated[Caller | None, Depends(optional_caller)]


def _limit(services: Svc, request: Request) -> None:
    services.limiters.per_address.check(client_address(request))


# --- policies ------------------------------------------------------------------------------


def _document(row: Any) -> dict[str, Any]:
    return {
        "kind": row.kind,
        "version": row.version,
        "title": row.title,
        "published_at": row.published_at.isoformat(),
        "body": row.body,
        "media_type": "text/markdown",
    }


@router.get("/policies/current", summary="The privacy policy and terms in force")
async def current_policies(db: Db) -> dict[str, Any]:
    return {"documents": [_document(row) for row in (await policies.current(db)).values()]}


@router.get("/policies/{kind}/{version}", summary="One published version of a document")
async def policy_version(
    kind: Literal["privacy", "terms"],
    # Bounded like the column: a number past it was a 500 (schemathesis found it).
    version: Annotated[int, Path(ge=1, le=2**31 - 1)],
    db: Db,
) -> dict[str, Any]:
    return _document(await policies.version(db, policies.Kind(kind), version))


# --- contact the data-protection officer ---------------------------------------------------


class ContactIn(Strict):
    topic: Literal["privacy", "sales"] = Field(
        "privacy",
        description="`privacy` goes to the data-protection officer, `sales` to sales.",
    )
    name: str = Field("", max_length=120)
    email: str = Field(max_length=254, description="Where we answer you.")
    subject: str = Field(min_length=1, max_length=contact.MAX_SUBJECT)
    message: str = Field(min_length=1, max_length=contact.MAX_MESSAGE)


@router.post(
    "/contact",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Write to the data-protection officer (topic privacy) or to sales",
)
async def contact_dpo(
    body: ContactIn,
    request: Request,
    db: Db,
    services: Svc,
    caller: OptionalCaller,
    background: BackgroundTasks,
) -> dict[str, Any]:
    _limit(services, request)
    row = await contact.submit(
        db,
        services.mailer,
        name=body.name,
        email=body.email,
        subject=body.subject,
        message=body.message,
        user_id=caller.user.id if caller else None,
        dpo_email=services.settings.dpo_email,
        now=services.clock(),
        retention_days=services.settings.contact_retention_days,
        topic=contact.Topic(body.topic),
        sales_email=services.settings.sales_email or services.settings.operator_email,
    )
    await db.commit()
    background.add_task(services.mailer.deliver_pending)  # after the response
    return {"reference": str(row.id), "kept_until": row.expires_at.isoformat()}


# --- diagnostics ---------------------------------------------------------------------------


class DiagnosticsIn(Strict):
    source: Literal["app", "dashcam"] = "app"
    phone_id: str = Field("", max_length=128, description="Stored only as a keyed hash.")
    mac: str = Field("", max_length=32, description="Stored only as a keyed hash.")
    app_version: str = Field("", max_length=32)
    platform: str = Field("", max_length=32)
    dashcam_model: str = Field("", max_length=64)
    dashcam_firmware: str = Field("", max_length=64)
    usage_seconds: int | None = Field(None, ge=0, le=10**9)
    log: str = Field("", max_length=diagnostics.MAX_LOG_CHARS)


class ConsentRequired(Forbidden):
    type, title = "consent-required", "Consent required"


@router.post(
    "/diagnostics",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send an app or dash-cam problem log (phone ID and MAC are kept only hashed)",
)
async def submit_diagnostics(
    body: DiagnosticsIn, request: Request, db: Db, services: Svc, caller: OptionalCaller
) -> dict[str, Any]:
    _limit(services, request)
    user_id = caller.user.id if caller else None
    if user_id is not None and not (
        await consent.allows(db, user_id, Purpose.DIAGNOSTICS)
        and await minors.collection_allowed(
            db, user_id, minors.Kind.DIAGNOSTICS, today=services.clock().date()
        )
    ):
        raise ConsentRequired(
            "you have not consented to diagnostics (or, under 18, your guardian has not)",
            code="consent_required",
        )
    row = await diagnostics.submit(
        db,
        key=diagnostics.load_key(services.settings.data_dir),
        report=diagnostics.ReportIn(**body.model_dump()),
        user_id=user_id,
        now=services.clock(),
        retention_days=services.settings.diagnostics_retention_days,
    )
    return {"id": str(row.id), "expires_at": row.expires_at.isoformat()}


# --- cookie-less usage statistics ----------------------------------------------------------


class HitIn(Strict):
    page: str = Field(max_length=2048, description="Path (or URL) of the page viewed.")


@router.post(
    "/analytics/hit",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Count a page view (no cookie; Do-Not-Track and Global Privacy Control honoured)",
)
async def analytics_hit(body: HitIn, request: Request, db: Db, services: Svc) -> Response:
    headers = request.headers
    counted = headers.get("DNT") != "1" and headers.get("Sec-GPC") != "1"
    if read_consent_cookie(request.cookies.get(CONSENT_COOKIE))[1] is False:
        counted = False  # the banner's "no" (a signed-in person's ledger is asked below too)
    if counted and (request.headers.get("Authorization") or request.cookies.get(SESSION_COOKIE)):
        # A signed-in person is counted only with their analytics consent; a failed sign-in
        # check (an expired token, a missing CSRF header) just means "not counted".
        try:
            caller = await get_caller(request, services, db, _credentials(request))
        except CamtelError:
            counted = False
        else:
            counted = await consent.allows(db, caller.user.id, Purpose.ANALYTICS)
    if counted:
        await analytics.hit(
            db,
            page=body.page,
            address=client_address(request),
            user_agent=headers.get("User-Agent", "")[:512],
            now=services.clock(),
        )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _credentials(request: Request) -> HTTPAuthorizationCredentials | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token:
        return HTTPAuthorizationCredentials(scheme="Bearer", credentials=token.strip())
    return None


# --- cookie consent ------------------------------------------------------------------------

class CookieChoice(Strict):
    analytics: bool = Field(
        description="Count my visits in the usage statistics (ledger purpose `analytics`)."
    )


async def _cookie_state(
    db: Db, caller: Caller | None, visitor: str | None, choice: bool | None
) -> dict[str, Any]:
    if caller is not None:
        decision = await consent.decision(db, caller.user.id, Purpose.ANALYTICS)
    elif visitor is not None:
        decision = await consent.visitor_decision(db, visitor, Purpose.ANALYTICS)
    else:
        decision = None
    if decision is not None:
        decided, analytics_on = True, consent.is_given(decision)
    elif caller is None and choice is not None:  # chosen while signed in, then signed out
        decided, analytics_on = True, choice
    else:
        decided, analytics_on = False, False
    return {
        "decided": decided,
        "necessary": True,
        "analytics": analytics_on,
        "since": decision.time.isoformat() if decision is not None else None,
        "recorded_for": "account" if caller else ("visitor" if decision is not None else None),
        "purpose": str(Purpose.ANALYTICS),
        "cookie": CONSENT_COOKIE,
    }


@router.get(
    "/cookie-consent",
    summary="The cookie choice of this browser or account (sets no cookie)",
)
async def cookie_consent(request: Request, db: Db, caller: OptionalCaller) -> dict[str, Any]:
    visitor, choice = read_consent_cookie(request.cookies.get(CONSENT_COOKIE))
    return await _cookie_state(db, caller, visitor, choice)


@router.put(
    "/cookie-consent",
    summary="Record the cookie choice in the consent ledger; false withdraws, in one call",
)
async def set_cookie_consent(
    body: CookieChoice,
    request: Request,
    response: Response,
    db: Db,
    services: Svc,
    caller: OptionalCaller,
) -> dict[str, Any]:
    visitor, _ = read_consent_cookie(request.cookies.get(CONSENT_COOKIE))
    web = caller is None or (caller.session is not None and caller.session.kind == "web")
    recorded = await record_choice(
        db,
        analytics=body.analytics,
        user_id=caller.user.id if caller else None,
        visitor=visitor,
        channel=Channel.WEB if web else Channel.API,
        now=services.clock(),
    )
    response.set_cookie(
        CONSENT_COOKIE,
        recorded.cookie,
        max_age=CONSENT_MAX_AGE,
        httponly=True,
        secure=services.settings.cookie_secure,
        samesite="lax",
        path="/",
    )
    return await _cookie_state(db, caller, recorded.visitor, body.analytics)
