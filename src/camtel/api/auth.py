"""Registration, email verification, sign-in and sign-out, password reset, email-change links."""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response, status
from pydantic import Field, ValidationError

from camtel.accounts import email_change, service
from camtel.accounts.age import ADULT_AGE, age_on
from camtel.accounts.models import AuthSession
from camtel.accounts.tokens import close_all_sessions, close_session, open_session, resolve
from camtel.api.deps import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    CallerDep,
    Db,
    Svc,
    client_address,
)
from camtel.api.schemas import Out, Strict
from camtel.errors import Forbidden, Invalid, RateLimited, Unauthorized
from camtel.privacy import access_log
from camtel.privacy.diagnostics import load_key
from camtel.services import Services

router = APIRouter(prefix="/auth", tags=["auth"])


class Registration(Strict):
    email: str = Field(max_length=254, description="Email address; a link is mailed to it.")
    phone: str = Field(max_length=32, description="Phone number in international form (E.164).")
    password: str = Field(max_length=1024, description="At least 8 characters, not a common one.")
    display_name: str = Field("", max_length=120)
    date_of_birth: date | None = Field(
        None,
        description="The person's date of birth: under 18, collecting their location, video "
        "and diagnostics waits for a guardian's consent. Given with `adult`, they must agree.",
    )
    adult: bool | None = Field(
        None,
        description="true: the person confirms they are 18 or older (instead of, or with, "
        "`date_of_birth`). false: they do not, so `date_of_birth` is required (422 without). "
        "Leaving out both registers the age as unstated: the account counts as an adult's "
        "until its owner states their age (`POST /api/v1/me/age`).",
    )
    organization_name: str = Field("", max_length=120)


class Credentials(Strict):
    email: str = Field(max_length=254)
    password: str = Field(max_length=1024)
    otp: str | None = Field(None, max_length=10, description="TOTP code, when enabled.")


class TokenOut(Strict):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int


class ResetRequest(Strict):
    email: str = Field(max_length=254)


class ResetConfirm(Strict):
    token: str = Field(max_length=128)
    password: str = Field(max_length=1024)


class VerifyIn(Strict):
    token: str = Field(max_length=128)


class EmailChangeConfirm(Strict):
    token: str = Field(max_length=128)


def _account_key(email: str) -> str:
    # Keyed by a hash: the limiter's memory never holds a readable address.
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def limit_attempts(services: Services, request: Request, email: str | None = None) -> None:
    """Count an attempt against the per-address and (given an email) per-account limits."""
    wait = services.limiters.per_address.hit(client_address(request))
    if wait is None and email is not None:
        wait = services.limiters.per_account.hit(_account_key(email))
    if wait is not None:
        raise RateLimited(wait)


class RegistrationOut(Out):
    status: str = Field(description="What happens next: look for the mail.")
    email: str = Field(description="The address as camtel normalised it.")
    is_minor: bool = Field(description="From the date of birth given: needs a guardian.")


@router.post(
    "/register",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RegistrationOut,
    summary="Create an account (email + phone + password); the same answer for a known address",
)
async def register(
    body: Registration, request: Request, db: Db, services: Svc, background: BackgroundTasks
) -> RegistrationOut:
    limit_attempts(services, request, body.email)
    settings, now = services.settings, services.clock()
    # A new address gets an account and a verification link; an address that has an
    # account gets a notice to its owner. The answer is built from the request alone.
    address = await service.register(
        db,
        services.mailer,
        email=body.email,
        phone=body.phone,
        password=body.password,
        display_name=body.display_name,
        date_of_birth=body.date_of_birth,
        adult=body.adult,
        organization_name=body.organization_name,
        min_length=settings.password_min_length,
        base_url=settings.base_url,
        ttl=timedelta(hours=settings.email_token_ttl_hours),
        now=now,
    )
    await db.commit()  # the mail is sent after the response; its row must exist by then
    background.add_task(services.mailer.deliver_pending)
    born = body.date_of_birth
    return RegistrationOut(
        status="check your mailbox: a link to confirm the address is on its way",
        email=address,
        is_minor=born is not None and age_on(born, now.date()) < ADULT_AGE,
    )


@router.get("/verify", summary="Confirm an email address from the mailed link")
async def verify_link(
    token: Annotated[str, Query(max_length=128)], db: Db, services: Svc
) -> dict[str, Any]:
    user = await service.verify_email(db, token=token, now=services.clock())
    return {"email_verified": True, "id": str(user.id)}


@router.post("/verify", summary="Confirm an email address with the mailed token")
async def verify(body: VerifyIn, db: Db, services: Svc) -> dict[str, Any]:
    user = await service.verify_email(db, token=body.token, now=services.clock())
    return {"email_verified": True, "id": str(user.id)}


async def _credentials(request: Request) -> Credentials:
    content_type = request.headers.get("content-type", "")
    try:
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            return Credentials(
                email=str(form.get("username") or form.get("email") or ""),
                password=str(form.get("password") or ""),
                otp=str(form["otp"]) if form.get("otp") else None,
            )
        return Credentials.model_validate_json(await request.body())
    except ValidationError as exc:
        first = exc.errors()[0]
        raise Invalid(f"{'.'.join(map(str, first['loc'])) or 'body'}: {first['msg']}") from None


_TOKEN_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": Credentials.model_json_schema()},
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["username", "password"],
                    "properties": {
                        "username": {"type": "string"},
                        "password": {"type": "string"},
                        "otp": {"type": "string"},
                    },
                }
            },
        },
    }
}


async def _sign_in(
    request: Request, db: Db, services: Svc, kind: str
) -> tuple[str, AuthSession, timedelta]:
    creds = await _credentials(request)
    limit_attempts(services, request, creds.email)
    now = services.clock()
    seen = access_log.seen(
        key=load_key(services.settings.data_dir),
        channel=kind,
        address=client_address(request),
        user_agent=request.headers.get("user-agent"),
        now=now,
    )
    try:
        user = await service.authenticate(
            db, email=creds.email, password=creds.password, otp=creds.otp, now=now
        )
    except (Unauthorized, Forbidden) as exc:
        access_log.note_failed_sign_in(
            services.background, services.database, email=creds.email, seen=seen, error=exc
        )
        raise
    access_log.note_sign_in(db, user_id=user.id, seen=seen)
    services.limiters.per_account.reset(_account_key(creds.email))
    ttl = timedelta(hours=services.settings.session_ttl_hours)
    token, session = await open_session(db, user=user, kind=kind, ttl=ttl, now=now)
    return token, session, ttl


@router.post(
    "/token",
    response_model=TokenOut,
    openapi_extra=_TOKEN_BODY,
    summary="Get a bearer token (JSON email/password or OAuth2 form)",
)
async def token(request: Request, db: Db, services: Svc) -> TokenOut:
    access, _session, ttl = await _sign_in(request, db, services, "api")
    return TokenOut(access_token=access, expires_in=int(ttl.total_seconds()))


@router.post(
    "/session",
    openapi_extra=_TOKEN_BODY,
    summary="Sign in the web app: sets the session and CSRF cookies",
)
async def web_session(request: Request, response: Response, db: Db, services: Svc) -> dict:
    access, session, ttl = await _sign_in(request, db, services, "web")
    secure = services.settings.cookie_secure
    age = int(ttl.total_seconds())
    response.set_cookie(
        SESSION_COOKIE, access, max_age=age, httponly=True, secure=secure, samesite="lax", path="/"
    )
    # Readable by the page's script, which echoes it in X-CSRF-Token (double submit).
    response.set_cookie(
        CSRF_COOKIE,
        session.csrf_token or "",
        max_age=age,
        httponly=False,
        secure=secure,
        samesite="strict",
        path="/",
    )
    return {"csrf_token": session.csrf_token, "expires_in": age}


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, summary="Sign out here")
async def logout(caller: CallerDep, db: Db, response: Response) -> Response:
    if caller.session is not None:
        await close_session(db, session_id=caller.session.id)
    response.status_code = status.HTTP_204_NO_CONTENT
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@router.post("/logout-all", summary="Sign out everywhere: every token and session ends")
async def logout_all(caller: CallerDep, db: Db, response: Response) -> dict[str, int]:
    ended = await close_all_sessions(db, user_id=caller.user.id)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return {"sessions_ended": ended}


@router.post(
    "/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Mail a password reset link (same answer whether or not the account exists)",
)
async def password_reset(
    body: ResetRequest, request: Request, db: Db, services: Svc, background: BackgroundTasks
) -> dict[str, str]:
    limit_attempts(services, request, body.email)
    settings = services.settings
    await service.request_password_reset(
        db,
        services.mailer,
        email=body.email,
        base_url=settings.base_url,
        ttl=timedelta(hours=min(settings.email_token_ttl_hours, 2)),
        now=services.clock(),
    )
    await db.commit()
    background.add_task(services.mailer.deliver_pending)
    return {"status": "if the account exists, a reset link is on its way"}


@router.post("/password-reset/confirm", summary="Set a new password with the mailed token")
async def password_reset_confirm(
    body: ResetConfirm, request: Request, db: Db, services: Svc
) -> dict[str, bool]:
    limit_attempts(services, request)
    await service.reset_password(
        db,
        token=body.token,
        password=body.password,
        min_length=services.settings.password_min_length,
        now=services.clock(),
    )
    return {"password_changed": True}


async def _presented_session(request: Request, db: Db, now: datetime) -> uuid.UUID | None:
    # A link opened where the person is signed in keeps that one session, as a password
    # change keeps the current one; the link itself needs no sign-in.
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    presented = credential.strip() if scheme.lower() == "bearer" else None
    presented = presented or request.cookies.get(SESSION_COOKIE)
    found = await resolve(db, token=presented, now=now) if presented else None
    return found[1].id if found else None


async def _confirm_email_change(
    token: str, request: Request, db: Db, services: Svc, background: BackgroundTasks
) -> dict[str, Any]:
    limit_attempts(services, request)
    now = services.clock()
    user = await email_change.confirm_change(
        db,
        services.mailer,
        token=token,
        now=now,
        keep_session=await _presented_session(request, db, now),
    )
    await db.commit()  # the notice to the old address goes out after the response
    background.add_task(services.mailer.deliver_pending)
    return {"id": str(user.id), "email": user.email, "email_verified": True}


@router.get("/email-change/confirm", summary="Confirm a new email address from the mailed link")
async def email_change_link(
    token: Annotated[str, Query(max_length=128)],
    request: Request,
    db: Db,
    services: Svc,
    background: BackgroundTasks,
) -> dict[str, Any]:
    return await _confirm_email_change(token, request, db, services, background)


@router.post(
    "/email-change/confirm",
    summary="Confirm a new email address with the mailed token; other sessions end",
)
async def email_change_confirm(
    body: EmailChangeConfirm,
    request: Request,
    db: Db,
    services: Svc,
    background: BackgroundTasks,
) -> dict[str, Any]:
    return await _confirm_email_change(body.token, request, db, services, background)
