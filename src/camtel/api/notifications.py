"""Notification rules, the in-app inbox, and Web Push subscriptions of the caller."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request, Response, status
from pydantic import Field, field_validator, model_validator

from camtel.api.deps import CallerDep, Db, Svc
from camtel.api.pagination import DEFAULT_LIMIT, Cursor, Limit, id_cursor, page
from camtel.api.schemas import Out, Strict
from camtel.errors import Invalid
from camtel.events.models import EVENT_TYPES
from camtel.notify import inbox, rules, service, webpush
from camtel.notify.dispatcher import Dispatcher
from camtel.services import Services

router = APIRouter(tags=["notifications"])

EventType = Annotated[str, Field(description=f"One of: {', '.join(EVENT_TYPES)}.")]
Channel = Annotated[str, Field(description=f"One of: {', '.join(rules.CHANNELS)}.")]
Clock = Annotated[str, Field(description="Local time HH:MM (24-hour) in `time_zone`.")]


def _check_types(values: list[str] | None) -> list[str] | None:
    for value in values or []:
        if value not in EVENT_TYPES:
            raise ValueError(f"unknown event type {value!r}")
    return values


def _check_channels(values: list[str] | None) -> list[str] | None:
    for value in values or []:
        if value not in rules.CHANNELS:
            raise ValueError(f"unknown channel {value!r}; use {', '.join(rules.CHANNELS)}")
    return values


def _check_clock(value: str | None) -> str | None:
    if value is not None:
        rules.parse_clock(value)
    return value


def _check_zone(value: str | None) -> str | None:
    if value is not None:
        rules.parse_zone(value)
    return value


class RuleIn(Strict):
    name: str = Field("", max_length=120)
    event_types: list[EventType] = Field(
        default_factory=list, max_length=len(EVENT_TYPES), description="Empty: every type."
    )
    device_ids: list[uuid.UUID] = Field(
        default_factory=list, max_length=1000, description="Empty: every device you may see."
    )
    channels: list[Channel] = Field(min_length=1, max_length=len(rules.CHANNELS))
    quiet_start: Clock | None = None
    quiet_end: Clock | None = None
    time_zone: str = Field("UTC", max_length=64, description="IANA zone of the quiet hours.")
    enabled: bool = True

    _types = field_validator("event_types")(_check_types)
    _channels = field_validator("channels")(_check_channels)
    _clocks = field_validator("quiet_start", "quiet_end")(_check_clock)
    _zone = field_validator("time_zone")(_check_zone)

    @model_validator(mode="after")
    def _both_or_neither(self) -> RuleIn:
        if (self.quiet_start is None) != (self.quiet_end is None):
            raise ValueError("give both quiet_start and quiet_end, or neither")
        return self


class RuleChange(Strict):
    name: str | None = Field(None, max_length=120)
    event_types: list[EventType] | None = Field(None, max_length=len(EVENT_TYPES))
    device_ids: list[uuid.UUID] | None = Field(None, max_length=1000)
    channels: list[Channel] | None = Field(None, min_length=1, max_length=len(rules.CHANNELS))
    quiet_start: Clock | None = None
    quiet_end: Clock | None = None
    time_zone: str | None = Field(None, max_length=64)
    enabled: bool | None = None

    _types = field_validator("event_types")(_check_types)
    _channels = field_validator("channels")(_check_channels)
    _clocks = field_validator("quiet_start", "quiet_end")(_check_clock)
    _zone = field_validator("time_zone")(_check_zone)


class RuleOut(Out):
    id: uuid.UUID
    name: str
    event_types: list[str]
    device_ids: list[uuid.UUID]
    channels: list[str]
    quiet_start: str | None
    quiet_end: str | None
    time_zone: str
    enabled: bool
    created_at: datetime


class InboxOut(Out):
    id: uuid.UUID
    event_id: uuid.UUID
    device_id: uuid.UUID
    type: str
    title: str
    urgent: bool
    time: datetime
    read_at: datetime | None
    created_at: datetime


class MarkIn(Strict):
    read: bool


class PushKeys(Strict):
    p256dh: str = Field(min_length=80, max_length=128)
    auth: str = Field(min_length=16, max_length=64)


class PushSubscriptionIn(Strict):
    """The browser's `PushSubscription.toJSON()`."""

    endpoint: str = Field(min_length=8, max_length=2048)
    keys: PushKeys
    expirationTime: float | None = None  # the browser's own (camelCase) field name


class PushSubscriptionOut(Out):
    id: uuid.UUID
    endpoint_host: str = Field(description="The push service; the endpoint itself is secret.")
    created_at: datetime
    last_success_at: datetime | None


def _dispatcher(services: Services) -> Dispatcher:
    assert services.dispatcher is not None, "Services.build makes the dispatcher"
    return services.dispatcher


# Rules


@router.get("/notification-rules", response_model=list[RuleOut], summary="Your rules")
async def list_rules(caller: CallerDep, db: Db) -> list[Any]:
    return await service.list_rules(db, caller=caller)


@router.post(
    "/notification-rules",
    status_code=status.HTTP_201_CREATED,
    response_model=RuleOut,
    summary="Be told about events: which types, which devices, which channels, quiet hours",
)
async def create_rule(body: RuleIn, caller: CallerDep, db: Db, services: Svc) -> Any:
    return await service.create_rule(
        db, caller=caller, fields=body.model_dump(), now=services.clock()
    )


@router.get("/notification-rules/{rule_id}", response_model=RuleOut, summary="One rule")
async def get_rule(rule_id: uuid.UUID, caller: CallerDep, db: Db) -> Any:
    return await service.get_rule(db, caller=caller, rule_id=rule_id)


@router.patch("/notification-rules/{rule_id}", response_model=RuleOut, summary="Change a rule")
async def change_rule(rule_id: uuid.UUID, body: RuleChange, caller: CallerDep, db: Db) -> Any:
    fields = body.model_dump(exclude_unset=True)
    for key in ("channels", "event_types", "device_ids", "time_zone", "enabled", "name"):
        if key in fields and fields[key] is None:
            raise Invalid(f"{key} cannot be null", field=key)
    return await service.update_rule(db, caller=caller, rule_id=rule_id, fields=fields)


@router.delete(
    "/notification-rules/{rule_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a rule",
)
async def delete_rule(rule_id: uuid.UUID, caller: CallerDep, db: Db) -> None:
    await service.delete_rule(db, caller=caller, rule_id=rule_id)


# Inbox


@router.get("/notifications", response_model=list[InboxOut], summary="Your inbox, newest first")
async def list_inbox(
    request: Request,
    response: Response,
    caller: CallerDep,
    db: Db,
    unread: bool | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> list[Any]:
    rows = await inbox.list_items(
        db, user_id=caller.user.id, limit=limit, unread=unread, before=id_cursor(cursor)
    )
    return list(
        page(rows, limit=limit, request=request, response=response, key=lambda i: [str(i.id)])
    )


@router.patch("/notifications/{item_id}", response_model=InboxOut, summary="Mark read or unread")
async def mark_item(
    item_id: uuid.UUID, body: MarkIn, caller: CallerDep, db: Db, services: Svc
) -> Any:
    return await inbox.mark(
        db, user_id=caller.user.id, item_id=item_id, read=body.read, now=services.clock()
    )


@router.post("/notifications/read-all", summary="Mark every notification read")
async def mark_all(caller: CallerDep, db: Db, services: Svc) -> dict[str, int]:
    changed = await inbox.mark_all_read(db, user_id=caller.user.id, now=services.clock())
    return {"marked": changed}


# Web Push


@router.get("/push/vapid-public-key", summary="The key browsers subscribe with")
async def vapid_public_key(caller: CallerDep, services: Svc) -> dict[str, str]:
    """`applicationServerKey` for `pushManager.subscribe`: base64url of the P-256 point."""
    return {"public_key": _dispatcher(services).webpush.public_key}


def _subscription_out(row: Any) -> PushSubscriptionOut:
    return PushSubscriptionOut(
        id=row.id,
        endpoint_host=urlsplit(row.endpoint).hostname or "",
        created_at=row.created_at,
        last_success_at=row.last_success_at,
    )


@router.post(
    "/push/subscriptions",
    status_code=status.HTTP_201_CREATED,
    response_model=PushSubscriptionOut,
    summary="Register this browser for Web Push",
)
async def subscribe(
    body: PushSubscriptionIn, caller: CallerDep, db: Db, services: Svc
) -> PushSubscriptionOut:
    row = await webpush.subscribe(
        db,
        user_id=caller.user.id,
        endpoint=body.endpoint,
        p256dh=body.keys.p256dh,
        auth=body.keys.auth,
        allow_private=services.settings.webhook_allow_private,
        now=services.clock(),
    )
    return _subscription_out(row)


@router.get(
    "/push/subscriptions",
    response_model=list[PushSubscriptionOut],
    summary="Your browsers registered for Web Push",
)
async def list_subscriptions(caller: CallerDep, db: Db) -> list[PushSubscriptionOut]:
    rows = await webpush.list_for(db, user_id=caller.user.id)
    return [_subscription_out(r) for r in rows]


@router.delete(
    "/push/subscriptions/{subscription_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Unregister a browser",
)
async def unsubscribe(subscription_id: uuid.UUID, caller: CallerDep, db: Db) -> None:
    await webpush.unsubscribe(db, user_id=caller.user.id, subscription_id=subscription_id)
