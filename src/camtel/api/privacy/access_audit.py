"""Who read a person's data: reads of a device they drive by others, newest first."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Request, Response
from pydantic import Field

from camtel.api.deps import CallerDep, Db
from camtel.api.pagination import Cursor, Limit, page, time_cursor
from camtel.api.schemas import Out
from camtel.privacy import audit

router = APIRouter()


class AccessAuditOut(Out):
    id: uuid.UUID
    time: datetime = Field(description="When the data was read")
    actor_name: str = Field(
        description="The reader's display name; empty when they gave none or their account is gone"
    )
    actor_known: bool = Field(description="False once the reader's account is gone")
    actor_role: str = Field(
        description="The reader's role in the device's organisation (owner, manager, viewer...); "
        "empty when they were not a member (an operator)"
    )
    action: str = Field(
        description="read_positions, export_positions, read_events, read_trips, read_stops, "
        "read_summary_report, list_media, read_media, read_media_content, "
        "read_media_thumbnail, read_media_track, watch_live"
    )
    device_id: uuid.UUID | None
    device_name: str | None = Field(description="None once the device is gone")


@router.get(
    "/me/access-audit",
    response_model=list[AccessAuditOut],
    summary="Who read your data (a device you drive), what and when, newest first",
)
async def my_access_audit(
    request: Request,
    response: Response,
    caller: CallerDep,
    db: Db,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> list[AccessAuditOut]:
    rows = await audit.reads_of(db, subject=caller.user.id, limit=limit, after=time_cursor(cursor))
    kept = page(
        rows,
        limit=limit,
        request=request,
        response=response,
        key=lambda r: [r.at.isoformat(), str(r.id)],
    )
    return [
        AccessAuditOut(
            id=r.id,
            time=r.at,
            actor_name=r.actor_name,
            actor_known=r.actor_known,
            actor_role=r.actor_role,
            action=r.action,
            device_id=r.device_id,
            device_name=r.device_name,
        )
        for r in kept
    ]
