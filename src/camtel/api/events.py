"""`GET /api/v1/events`: what happened to the caller's devices, newest first."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import AwareDatetime

from camtel.api.deps import CallerDep, Db, Svc
from camtel.api.pagination import DEFAULT_LIMIT, Cursor, Limit, page, time_cursor
from camtel.api.schemas import Out, StoredJson
from camtel.errors import Invalid
from camtel.events import service
from camtel.events.models import EVENT_TYPES
from camtel.privacy import audit

router = APIRouter(tags=["events"])


class EventOut(Out):
    id: uuid.UUID
    type: str
    time: datetime
    device_id: uuid.UUID
    urgent: bool
    latitude: float | None
    longitude: float | None
    attributes: StoredJson


@router.get("/events", response_model=list[EventOut], summary="Events, newest first")
async def list_events(
    request: Request,
    response: Response,
    caller: CallerDep,
    db: Db,
    services: Svc,
    device_id: uuid.UUID | None = None,
    type: Annotated[
        list[str] | None, Query(description=f"One or more of: {', '.join(EVENT_TYPES)}.")
    ] = None,
    urgent: bool | None = None,
    start: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    end: Annotated[AwareDatetime | None, Query(alias="to")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> list[EventOut]:
    end = end or services.clock()
    start = start or end - timedelta(days=7)
    if start > end:
        raise Invalid("`from` is after `to`", field="from")
    unknown = [t for t in type or [] if t not in EVENT_TYPES]
    if unknown:
        raise Invalid(f"unknown event type {unknown[0]!r}", field="type")
    after = time_cursor(cursor)
    rows = await service.list_events(
        db,
        caller=caller,
        start=start,
        end=end,
        limit=limit,
        device_id=device_id,
        types=type,
        urgent=urgent,
        after=after,
    )
    kept = page(
        rows,
        limit=limit,
        request=request,
        response=response,
        key=lambda e: [e.time.isoformat(), str(e.id)],
    )
    read = {e.device_id for e in kept} | ({device_id} if device_id else set())
    await audit.record_device_reads(
        db, caller=caller, device_ids=read, action="read_events", now=services.clock()
    )
    return [EventOut.model_validate(e) for e in kept]
