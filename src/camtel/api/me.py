"""The signed-in person: profile, email address, password, second factor, sign-ins and
sessions, their devices' connections, invitations into organisations."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request, Response, status
from pydantic import Field
from sqlalchemy import select

from camtel.accounts import email_change, invitations, service
from camtel.accounts.contact import ContactError, normalise_phone
from camtel.accounts.models import User
from camtel.api.auth import limit_attempts
from camtel.api.deps import CSRF_COOKIE, SESSION_COOKIE, CallerDep, Db, Svc, client_address
from camtel.api.pagination import Cursor, Limit, page, time_cursor
from camtel.api.schemas import Out, Strict
from camtel.devices.models import Device
from camtel.errors import Invalid, NotFound
from camtel.privacy import access_log, policies, sessions
from camtel.privacy.diagnostics import load_key
from camtel.privacy.scope import scope_of

router = APIRouter(prefix="/me", tags=["me"])
log = logging.getLogger(__name__)


class ProfileChange(Strict):
    display_name: str | None = Field(None, max_length=120)
    phone: str | None = Field(None, max_length=32)


class EmailChange(Strict):
    new_email: str = Field(max_length=254, description="The new address; a link is mailed to it.")
    password: str = Field(max_length=1024, description="Your current password.")


class PasswordChange(Strict):
    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)


class Code(Strict):
    code: str = Field(min_length=6, max_length=8, pattern=r"^\d+$")


class PasswordOnly(Strict):
    password: str = Field(max_length=1024)


class AccessOut(Out):
    id: uuid.UUID
    time: datetime
    kind: str = Field(description="sign_in or sign_in_failed")
    channel: str = Field(description="api (a token) or web (a browser session)")
    reason: str = Field(
        description="Why it failed: password, otp_required (the password was right), "
        "otp_invalid, email_unverified; empty for a sign-in"
    )
    client: str = Field(description='The client, summarised: "Firefox on Android"')
    same_address_as_now: bool = Field(
        description="Made from the address you are using now (compared as keyed hashes)"
    )


class SessionOut(Out):
    id: uuid.UUID
    kind: str = Field(description="web (a browser) or api (a bearer token)")
    created_at: datetime = Field(description="When it was signed in")
    last_seen_at: datetime | None = Field(description="Last used (to within five minutes)")
    expires_at: datetime
    client: str = Field(description='The client that signed in, summarised: "Firefox on Android"')
    current: bool = Field(description="The session this request was made with")


class DeviceAccessOut(Out):
    id: uuid.UUID
    time: datetime
    device_id: uuid.UUID
    device_name: str | None
    protocol: str
    model: str = Field(description="What the device says it is (model, firmware, client app)")
    same_address_as_now: bool = Field(
        description="Connected from the address you are using now (compared as keyed hashes)"
    )


def profile(user: User, services_today: Any) -> dict[str, Any]:
    """What the API shows a person about their own account."""
    return {
        "id": str(user.id),
        "email": user.email,
        "phone": user.phone,
        "display_name": user.display_name,
        "email_verified": user.email_verified_at is not None,
        "date_of_birth": user.date_of_birth.isoformat() if user.date_of_birth else None,
        "age_basis": user.age_basis,
        "age_stated_at": user.age_stated_at.isoformat() if user.age_stated_at else None,
        "is_minor": service.is_minor(user, services_today),
        "guardian_id": str(user.guardian_id) if user.guardian_id else None,
        "totp_enabled": user.totp_enabled,
        "is_admin": user.is_admin,
        "created_at": user.created_at.isoformat(),
    }


@router.get("", summary="Your account")
async def me(caller: CallerDep, services: Svc, db: Db) -> dict[str, Any]:
    return (
        profile(caller.user, services.clock().date())
        | {
            "organizations": [
                {"id": str(org), "role": str(role)} for org, role in caller.roles.items()
            ]
        }
        # A new policy version published since the person last accepted one.
        | await policies.status(db, caller.user.id)
    )


@router.patch("", summary="Correct your name or phone number")
async def change_me(body: ProfileChange, caller: CallerDep, services: Svc) -> dict[str, Any]:
    user = caller.user
    if body.display_name is not None:
        user.display_name = body.display_name
    if body.phone is not None:
        try:
            user.phone = normalise_phone(body.phone)
        except ContactError as exc:
            raise Invalid(str(exc), field="phone") from None
    # Which fields were corrected, never their values (P19; logs carry no personal data).
    changed = ",".join(name for name, value in body if value is not None)
    if changed:
        log.info("profile corrected", extra={"user": str(user.id), "fields": changed})
    return profile(user, services.clock().date())


@router.post(
    "/email",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Change your email address: a link mailed to the new one confirms it",
)
async def change_email(
    body: EmailChange,
    request: Request,
    caller: CallerDep,
    db: Db,
    services: Svc,
    background: BackgroundTasks,
) -> dict[str, str]:
    # The password is guessed here as at sign-in, so it shares the sign-in limits.
    limit_attempts(services, request, caller.user.email)
    settings = services.settings
    await email_change.request_change(
        db,
        services.mailer,
        user=caller.user,
        new_email=body.new_email,
        password=body.password,
        base_url=settings.base_url,
        ttl=timedelta(hours=settings.email_token_ttl_hours),
        now=services.clock(),
    )
    await db.commit()  # the mail is sent after the response; its row must exist by then
    background.add_task(services.mailer.deliver_pending)
    # The same answer whether or not another account uses the address (no enumeration).
    return {"status": "if the address can be used, a confirmation link is on its way to it"}


@router.post(
    "/password",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Change your password; other sessions are signed out",
)
async def change_password(body: PasswordChange, caller: CallerDep, db: Db, services: Svc) -> None:
    await service.change_password(
        db,
        user=caller.user,
        current=body.current_password,
        new=body.new_password,
        min_length=services.settings.password_min_length,
        now=services.clock(),
        keep_session=caller.session.id if caller.session else None,
    )


@router.get(
    "/access-log",
    response_model=list[AccessOut],
    summary="Your sign-ins and failed attempts of the last 30 days, newest first",
)
async def my_access_log(
    request: Request,
    response: Response,
    caller: CallerDep,
    db: Db,
    services: Svc,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> list[AccessOut]:
    here = access_log.address_hash(load_key(services.settings.data_dir), client_address(request))
    rows = await access_log.sign_ins(
        db, user_id=caller.user.id, limit=limit, after=time_cursor(cursor)
    )
    kept = page(
        rows,
        limit=limit,
        request=request,
        response=response,
        key=lambda r: [r.time.isoformat(), str(r.id)],
    )
    return [
        AccessOut(
            id=r.id,
            time=r.time,
            kind=r.kind,
            channel=r.channel,
            reason=r.reason,
            client=r.client,
            same_address_as_now=here is not None and r.address_hash == here,
        )
        for r in kept
    ]


@router.get(
    "/device-access-log",
    response_model=list[DeviceAccessOut],
    summary="Connections of your devices (and those you drive) of the last 30 days, newest first",
)
async def my_device_access_log(
    request: Request,
    response: Response,
    caller: CallerDep,
    db: Db,
    services: Svc,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> list[DeviceAccessOut]:
    # The devices whose connections are the person's: those in their export.
    scope = await scope_of(db, caller.user.id)
    devices = scope.own_devices | scope.driven_devices
    here = access_log.address_hash(load_key(services.settings.data_dir), client_address(request))
    rows = await access_log.device_connections(
        db, device_ids=devices, limit=limit, after=time_cursor(cursor)
    )
    kept = page(
        rows,
        limit=limit,
        request=request,
        response=response,
        key=lambda r: [r.time.isoformat(), str(r.id)],
    )
    shown = {r.device_id for r in kept}
    names = (
        dict((await db.execute(select(Device.id, Device.name).where(Device.id.in_(shown)))).all())
        if shown
        else {}
    )
    return [
        DeviceAccessOut(
            id=r.id,
            time=r.time,
            device_id=r.device_id,
            device_name=names.get(r.device_id),
            protocol=r.protocol,
            model=r.model,
            same_address_as_now=here is not None and r.address_hash == here,
        )
        for r in kept
    ]


@router.get(
    "/sessions",
    response_model=list[SessionOut],
    summary="Your open sessions (browsers and API tokens), most recently used first",
)
async def my_sessions(caller: CallerDep, db: Db, services: Svc) -> list[SessionOut]:
    current = caller.session.id if caller.session else None
    return [
        SessionOut(
            id=s.id,
            kind=s.kind,
            created_at=s.created_at,
            last_seen_at=s.last_seen_at,
            expires_at=s.expires_at,
            client=s.client,
            current=s.id == current,
        )
        for s in await sessions.open_sessions(db, user_id=caller.user.id, now=services.clock())
    ]


@router.delete(
    "/sessions/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Sign out one of your sessions (this one too, if named)",
)
async def end_my_session(
    session_id: uuid.UUID, caller: CallerDep, db: Db, response: Response
) -> Response:
    if not await sessions.end_session(db, user_id=caller.user.id, session_id=session_id):
        raise NotFound("session not found")
    response.status_code = status.HTTP_204_NO_CONTENT
    if (
        caller.session is not None
        and caller.session.id == session_id
        and caller.session.kind == "web"
    ):
        response.delete_cookie(SESSION_COOKIE, path="/")
        response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@router.post("/totp", summary="Start enrolling an authenticator app (TOTP)")
async def totp_begin(caller: CallerDep) -> dict[str, str]:
    secret, uri = service.begin_totp(caller.user)
    return {"secret": secret, "otpauth_uri": uri}


@router.post("/totp/confirm", summary="Turn the second factor on with a code from the app")
async def totp_confirm(body: Code, caller: CallerDep, services: Svc) -> dict[str, bool]:
    service.confirm_totp(caller.user, code=body.code, now=services.clock())
    return {"totp_enabled": True}


@router.post("/totp/disable", summary="Turn the second factor off (needs your password)")
async def totp_disable(body: PasswordOnly, caller: CallerDep) -> dict[str, bool]:
    service.disable_totp(caller.user, password=body.password)
    return {"totp_enabled": False}


class MyInvitationOut(Out):
    id: uuid.UUID
    organization_id: uuid.UUID
    organization_name: str
    role: str
    expires_at: datetime
    created_at: datetime


@router.get(
    "/invitations",
    response_model=list[MyInvitationOut],
    summary="Invitations to your email address that you may accept or decline",
)
async def my_invitations(caller: CallerDep, db: Db, services: Svc) -> list[MyInvitationOut]:
    rows = await invitations.pending_for_person(db, user=caller.user, now=services.clock())
    return [
        MyInvitationOut(
            id=i.id,
            organization_id=i.organization_id,
            organization_name=name,
            role=i.role,
            expires_at=i.expires_at,
            created_at=i.created_at,
        )
        for i, name in rows
    ]


@router.post(
    "/invitations/{invitation_id}/accept",
    summary="Join the organisation that invited you, with the role offered",
)
async def accept_invitation(
    invitation_id: uuid.UUID, caller: CallerDep, db: Db, services: Svc
) -> dict[str, str]:
    invitation = await invitations.accept(
        db, caller=caller, invitation_id=invitation_id, now=services.clock()
    )
    return {"organization_id": str(invitation.organization_id), "role": invitation.role}


@router.post(
    "/invitations/{invitation_id}/decline",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Decline an invitation",
)
async def decline_invitation(
    invitation_id: uuid.UUID, caller: CallerDep, db: Db, services: Svc
) -> None:
    await invitations.decline(db, caller=caller, invitation_id=invitation_id, now=services.clock())
