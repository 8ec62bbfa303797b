"""Webhooks: an organisation's endpoints that receive signed events, and their delivery log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response, status
from pydantic import Field, field_validator

from camtel.api.deps import CallerDep, Db, Svc
from camtel.api.pagination import DEFAULT_LIMIT, Cursor, Limit, id_cursor, page
from camtel.api.schemas import Out, Strict
from camtel.events.models import EVENT_TYPES
from camtel.notify import webhooks

router = APIRouter(tags=["webhooks"])

EventType = Annotated[
    str, Field(description=f"`*` (every type) or one of: {', '.join(EVENT_TYPES)}.")
]


def _check_types(values: list[str]) -> list[str]:
    for value in values:
        if value != "*" and value not in EVENT_TYPES:
            raise ValueError(f"unknown event type {value!r}")
    return values


class WebhookIn(Strict):
    url: str = Field(
        min_length=8,
        max_length=2048,
        description="http(s) URL on a public address (unless the operator allows private ones).",
    )
    events: list[EventType] = Field(min_length=1, max_length=len(EVENT_TYPES) + 1)
    secret: str = Field(
        min_length=16,
        max_length=256,
        description="Key of the HMAC-SHA256 in `X-Camtel-Signature`; write-only.",
    )
    organization_id: uuid.UUID | None = Field(
        None, description="Default: your first organisation where you manage devices."
    )

    _types = field_validator("events")(_check_types)


class WebhookChange(Strict):
    enabled: bool = Field(description="Turn back on (resets the failure count) or off.")


class WebhookOut(Out):
    id: uuid.UUID
    organization_id: uuid.UUID
    url: str
    events: list[str]
    enabled: bool
    consecutive_failures: int
    disabled_reason: str
    disabled_at: datetime | None
    created_at: datetime


class DeliveryOut(Out):
    id: uuid.UUID
    event_id: uuid.UUID | None
    delivery_id: uuid.UUID
    attempt: int
    status_code: int | None
    ok: bool
    error: str
    duration_ms: int
    time: datetime


@router.post(
    "/webhooks",
    status_code=status.HTTP_201_CREATED,
    response_model=WebhookOut,
    summary="Send events to a URL, signed with your secret",
)
async def create_webhook(body: WebhookIn, caller: CallerDep, db: Db, services: Svc) -> Any:
    """Each delivery is a POST of the event as JSON with `X-Camtel-Signature:
    sha256=<hex HMAC-SHA256 of the raw body, keyed with the secret>`, plus `X-Camtel-Event`,
    `X-Camtel-Delivery` (the same on retries) and `X-Camtel-Attempt`."""
    return await webhooks.create(
        db,
        caller=caller,
        url=body.url,
        events=body.events,
        secret=body.secret,
        allow_private=services.settings.webhook_allow_private,
        allow_http=services.settings.webhook_allow_http,
        now=services.clock(),
        organization_id=body.organization_id,
    )


@router.get("/webhooks", response_model=list[WebhookOut], summary="Webhooks you manage")
async def list_webhooks(caller: CallerDep, db: Db) -> list[Any]:
    return await webhooks.list_for(db, caller=caller)


@router.get("/webhooks/{webhook_id}", response_model=WebhookOut, summary="One webhook")
async def get_webhook(webhook_id: uuid.UUID, caller: CallerDep, db: Db) -> Any:
    return await webhooks.get(db, caller=caller, webhook_id=webhook_id)


@router.patch(
    "/webhooks/{webhook_id}", response_model=WebhookOut, summary="Turn a webhook on or off"
)
async def change_webhook(
    webhook_id: uuid.UUID, body: WebhookChange, caller: CallerDep, db: Db
) -> Any:
    hook = await webhooks.get(db, caller=caller, webhook_id=webhook_id)
    hook.enabled = body.enabled
    if body.enabled:
        hook.consecutive_failures, hook.disabled_reason, hook.disabled_at = 0, "", None
    await db.flush()
    return hook


@router.delete(
    "/webhooks/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a webhook"
)
async def delete_webhook(webhook_id: uuid.UUID, caller: CallerDep, db: Db) -> None:
    await db.delete(await webhooks.get(db, caller=caller, webhook_id=webhook_id))


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    response_model=list[DeliveryOut],
    summary="The delivery log, newest first",
)
async def list_deliveries(
    webhook_id: uuid.UUID,
    request: Request,
    response: Response,
    caller: CallerDep,
    db: Db,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> list[Any]:
    rows = await webhooks.deliveries(
        db, caller=caller, webhook_id=webhook_id, limit=limit, before=id_cursor(cursor)
    )
    return list(
        page(rows, limit=limit, request=request, response=response, key=lambda d: [str(d.id)])
    )
