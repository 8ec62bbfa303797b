"""The person's rights: export everything (`GET /me/export`), erase everything (`DELETE /me`);
for operators, the list of requests; for organisations, legal holds and retention.

Erasure is confirmed by the password when asked from the web app: a browser left signed in
must not be enough to close the account. API clients (bearer tokens, which a person made on
purpose) may still erase without it, as the stable contract promises; if they send the
password, it is checked too."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response, status
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from pydantic import Field
from sqlalchemy import select

from camtel.accounts import passwords
from camtel.accounts.roles import can_manage_devices
from camtel.api.auth import limit_attempts
from camtel.api.deps import CSRF_COOKIE, SESSION_COOKIE, CallerDep, Db, Svc
from camtel.api.schemas import Out, Strict
from camtel.devices import service as device_service
from camtel.errors import Forbidden, Invalid, NotFound, Unauthorized
from camtel.media import cleanup
from camtel.privacy import erasure, export_jobs, holds, retention
from camtel.privacy.export import write_export
from camtel.privacy.registry import RETENTION
from camtel.privacy.rights_models import LegalHold, PrivacyRequest, RetentionOverride

router = APIRouter(tags=["privacy"])

CHUNK = 64 * 1024


def _stream(spooled: Any) -> Iterator[bytes]:
    spooled.seek(0)
    try:
        while chunk := spooled.read(CHUNK):
            yield chunk
    finally:
        spooled.close()


@router.get(
    "/me/export",
    summary="Everything camtel holds about you, as a ZIP",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/zip": {}}}},
)
async def export_me(
    caller: CallerDep,
    db: Db,
    services: Svc,
    job: Annotated[bool, Query(alias="async", description="Build it as a job (202).")] = False,
) -> Response:
    now = services.clock()
    if job or await export_jobs.is_large(services.database, caller.user.id):
        request = PrivacyRequest(
            kind="export",
            user_id=caller.user.id,
            status="processing",
            due_at=now + erasure.DUE_AFTER,
            created_at=now,
        )
        db.add(request)
        await db.commit()
        services.background.spawn(
            export_jobs.run(
                services.database,
                request_id=request.id,
                data_dir=services.settings.data_dir,
                hooks=services.export_hooks,
                clock=services.clock,
            ),
            name="privacy-export",
        )
        location = f"/api/v1/me/exports/{request.id}"
        return JSONResponse(
            {"id": str(request.id), "status": "processing", "url": location},
            status_code=202,
            headers={"Location": location},
        )
    # Spooled: small exports stay in memory, large ones go to a private temporary file.
    spooled = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)  # noqa: SIM115
    files = await write_export(db, user_id=caller.user.id, out=spooled, hooks=services.export_hooks)
    db.add(
        PrivacyRequest(
            kind="export",
            user_id=caller.user.id,
            status="done",
            due_at=now,
            completed_at=now,
            created_at=now,
            summary={"files": len(files), "records": sum(files.values())},
        )
    )
    stamp = now.strftime("%Y%m%d")
    return StreamingResponse(
        _stream(spooled),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="camtel-export-{stamp}.zip"'},
    )


@router.get(
    "/me/exports/{request_id}",
    summary="A large export: its status, then the ZIP",
    responses={200: {"content": {"application/zip": {}}}, 202: {}},
)
async def export_download(
    request_id: uuid.UUID, caller: CallerDep, db: Db, services: Svc
) -> Response:
    request = await db.get(PrivacyRequest, request_id)
    if request is None or request.kind != "export" or request.user_id != caller.user.id:
        raise NotFound("export not found")
    if request.status == "processing":
        return JSONResponse(
            {
                "id": str(request.id),
                "status": "processing",
                "progress": export_jobs.progress_of(request.summary),
            },
            status_code=202,
            headers={"Retry-After": "5"},
        )
    path = export_jobs.export_file(services.settings.data_dir, request.id)
    if request.status != "done" or not path.exists():
        raise NotFound("this export failed or has expired; ask for a new one")
    stamp = request.created_at.strftime("%Y%m%d")
    return FileResponse(path, media_type="application/zip", filename=f"camtel-export-{stamp}.zip")


@router.get(
    "/me/exports/{request_id}/status",
    summary="How far an export is, without downloading it",
)
async def export_status(
    request_id: uuid.UUID, caller: CallerDep, db: Db, services: Svc
) -> dict[str, Any]:
    request = await db.get(PrivacyRequest, request_id)
    if request is None or request.kind != "export" or request.user_id != caller.user.id:
        raise NotFound("export not found")
    path = export_jobs.export_file(services.settings.data_dir, request.id)
    state = export_jobs.state(request.status, file_exists=path.exists())
    return {
        "id": str(request.id),
        "status": state,
        "progress": 1.0 if state == "ready" else export_jobs.progress_of(request.summary),
        "created_at": request.created_at.isoformat(),
        "url": f"/api/v1/me/exports/{request.id}" if state == "ready" else None,
    }


class ErasureConfirm(Strict):
    password: str = Field(max_length=1024, description="Your password, to confirm.")


@router.delete("/me", summary="Erase your account and personal data")
async def erase_me(
    request: Request,
    response: Response,
    caller: CallerDep,
    db: Db,
    services: Svc,
    confirm: Annotated[
        ErasureConfirm | None,
        Body(description="Needed when signed in by the web session cookie; optional with a token."),
    ] = None,
) -> dict[str, Any]:
    web = caller.session is not None and caller.session.kind == "web"
    if confirm is None and web:
        raise Invalid("type your password to confirm the erasure", field="password")
    if confirm is not None:
        # Guessed here as at sign-in, so it shares the sign-in limits.
        limit_attempts(services, request, caller.user.email)
        if not passwords.verify_password(caller.user.password_hash, confirm.password):
            raise Unauthorized("the password is wrong")
    now = services.clock()
    asked = await erasure.request_erasure(db, user_id=caller.user.id, now=now)
    tracking = await device_service.tracking_devices(db, user_id=caller.user.id)
    await db.commit()
    for protocol, unique_id in tracking:  # the gateways stop storing their positions at once
        services.device_changed(protocol, unique_id)
    counts = await erasure.execute(
        services.database, request_id=asked.id, now=now, hooks=services.erasure_hooks
    )
    if web:  # the session went with the account; the browser forgets its cookies too
        response.delete_cookie(SESSION_COOKIE, path="/")
        response.delete_cookie(CSRF_COOKIE, path="/")
    return {"status": "done", "request_id": str(asked.id), "deleted": counts}


class RequestOut(Out):
    id: uuid.UUID
    kind: str
    actor: str
    status: str
    created_at: datetime
    due_at: datetime
    completed_at: datetime | None
    summary: dict[str, Any]


@router.get(
    "/privacy/requests",
    response_model=list[RequestOut],
    summary="Export and erasure requests with due dates (operators)",
)
async def list_requests(caller: CallerDep, db: Db) -> list[PrivacyRequest]:
    if not caller.user.is_admin:
        raise Forbidden("only operators see privacy requests")
    return list(
        await db.scalars(
            select(PrivacyRequest).order_by(PrivacyRequest.created_at.desc()).limit(1000)
        )
    )


class HoldIn(Strict):
    device_id: uuid.UUID | None = Field(None, description="One of the organisation's devices.")
    user_id: uuid.UUID | None = Field(None, description="One of the organisation's members.")
    reason: str = Field(min_length=3, max_length=300)


class HoldOut(Out):
    id: uuid.UUID
    organization_id: uuid.UUID
    device_id: uuid.UUID | None
    user_id: uuid.UUID | None
    reason: str
    created_at: datetime
    released_at: datetime | None


class RetentionIn(Strict):
    table: str = Field(max_length=64)
    days: int = Field(ge=1, le=3650)


def _manager(caller: CallerDep, organization_id: uuid.UUID) -> None:
    role = caller.role_in(organization_id)
    caller.require(organization_id, can_manage_devices(role), "manage retention")


@router.post(
    "/organizations/{organization_id}/legal-holds",
    status_code=201,
    response_model=HoldOut,
    summary="Pause retention for one of the organisation's devices or members",
)
async def create_hold(
    organization_id: uuid.UUID, body: HoldIn, caller: CallerDep, db: Db, services: Svc
) -> LegalHold:
    _manager(caller, organization_id)
    return await holds.place(
        db,
        organization_id=organization_id,
        device_id=body.device_id,
        user_id=body.user_id,
        reason=body.reason,
        now=services.clock(),
    )


@router.get(
    "/organizations/{organization_id}/legal-holds",
    response_model=list[HoldOut],
    summary="The organisation's legal holds: in force first, then released ones",
)
async def list_holds(organization_id: uuid.UUID, caller: CallerDep, db: Db) -> list[LegalHold]:
    _manager(caller, organization_id)
    return await holds.of_organization(db, organization_id)


@router.delete(
    "/organizations/{organization_id}/legal-holds/{hold_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Release a legal hold",
)
async def release_hold(
    organization_id: uuid.UUID, hold_id: uuid.UUID, caller: CallerDep, db: Db, services: Svc
) -> None:
    _manager(caller, organization_id)
    await holds.release(db, organization_id=organization_id, hold_id=hold_id, now=services.clock())


def _default_days(target: str) -> int | None:
    """camtel's own days for a retention target (a table, or a recording category)."""
    if target in retention.MEDIA_TARGETS:
        return cleanup.keep_days(retention.MEDIA_TARGETS[target][0])
    rules = RETENTION.get(target, ())
    return rules[0].days if rules else None


@router.get(
    "/organizations/{organization_id}/retention",
    summary="What the organisation may set retention for, camtel's days and its own",
)
async def list_retention(
    organization_id: uuid.UUID, caller: CallerDep, db: Db
) -> list[dict[str, Any]]:
    _manager(caller, organization_id)
    own = await retention.overrides_of(db, organization_id)
    return [
        {"table": target, "default_days": _default_days(target), "days": own.get(target)}
        for target in retention.overridable()
    ]


@router.delete(
    "/organizations/{organization_id}/retention/{table}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Go back to camtel's retention period for a table or recording category",
)
async def clear_retention(
    organization_id: uuid.UUID, table: str, caller: CallerDep, db: Db
) -> None:
    _manager(caller, organization_id)
    await retention.clear_override(db, organization_id, table)


@router.put("/organizations/{organization_id}/retention", summary="Set a retention period")
async def set_retention(
    organization_id: uuid.UUID, body: RetentionIn, caller: CallerDep, db: Db, services: Svc
) -> dict[str, Any]:
    _manager(caller, organization_id)
    choices = retention.overridable()
    if body.table not in choices:
        raise Invalid(f"retention can be set for: {', '.join(choices)}", field="table")
    row = await db.scalar(
        select(RetentionOverride).where(
            RetentionOverride.organization_id == organization_id,
            RetentionOverride.table_name == body.table,
        )
    )
    if row is None:
        db.add(
            RetentionOverride(
                organization_id=organization_id,
                table_name=body.table,
                days=body.days,
                created_at=services.clock(),
            )
        )
    else:
        row.days = body.days
    return {"table": body.table, "days": body.days}


@router.get("/privacy/centre", summary="Where your data lives and how long camtel keeps it")
async def privacy_centre(caller: CallerDep, db: Db, services: Svc) -> dict[str, Any]:
    from camtel.privacy.registry import REGISTRY

    settings = services.settings
    mine = list(
        await db.scalars(
            select(PrivacyRequest)
            .where(PrivacyRequest.user_id == caller.user.id)
            .order_by(PrivacyRequest.created_at.desc())
        )
    )
    return {
        "storage_region": settings.storage_region,
        "database": services.database.dialect,
        "retention": {name: entry.retention for name, entry in sorted(REGISTRY.items())},
        "requests": [
            {
                "id": str(r.id),
                "kind": r.kind,
                "status": r.status,
                "created_at": r.created_at.isoformat(),
                "due_at": r.due_at.isoformat(),
            }
            for r in mine
        ],
        "export": "/api/v1/me/export",
        "erase": "DELETE /api/v1/me",
    }
