"""Devices, their positions, groups and the pending list."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import AwareDatetime, Field
from pydantic_core import to_json

from camtel.api.deps import CallerDep, Db, Svc
from camtel.api.pagination import (
    DEFAULT_LIMIT,
    Cursor,
    Limit,
    id_cursor,
    page,
    time_number_cursor,
)
from camtel.api.schemas import JsonObject, Out, StoredJson, Strict
from camtel.db.stored_json import servable
from camtel.devices import latest, service
from camtel.devices.identity import PROTOCOLS
from camtel.devices.models import Device, DeviceGroup, PendingDevice
from camtel.errors import Invalid
from camtel.privacy import audit

router = APIRouter(tags=["devices"])

ProtocolName = Annotated[str, Field(description=f"One of: {', '.join(sorted(PROTOCOLS))}.")]


class DeviceIn(Strict):
    name: str = Field(min_length=1, max_length=120)
    unique_id: str = Field(
        min_length=1,
        max_length=64,
        description=(
            "JT/T 808: the terminal phone number as sent (leading zeros kept); "
            "Teltonika: the IMEI; OsmAnd: the id."
        ),
    )
    protocol: ProtocolName
    organization_id: uuid.UUID | None = Field(
        None, description="Default: your first organisation where you manage devices."
    )
    group_id: uuid.UUID | None = None
    driver_id: uuid.UUID | None = None
    attributes: JsonObject = Field(default_factory=dict)


class DeviceChange(Strict):
    name: str | None = Field(None, min_length=1, max_length=120)
    group_id: uuid.UUID | None = None
    driver_id: uuid.UUID | None = None
    attributes: JsonObject | None = None


class DeviceOut(Out):
    id: uuid.UUID
    name: str
    unique_id: str
    protocol: str
    organization_id: uuid.UUID
    group_id: uuid.UUID | None
    driver_id: uuid.UUID | None
    attributes: StoredJson
    status: str = Field("unknown", description="`online`, `offline` or `unknown` (never seen).")
    last_seen_at: datetime | None
    created_at: datetime


class PositionOut(Out):
    time: datetime
    latitude: float
    longitude: float
    speed_kmh: float | None
    course: float | None
    altitude: float | None
    accuracy_m: float | None
    valid: bool
    source: str
    attributes: StoredJson


class GroupIn(Strict):
    name: str = Field(min_length=1, max_length=120)
    organization_id: uuid.UUID | None = None


class GroupChange(Strict):
    name: str = Field(min_length=1, max_length=120)


class GroupOut(Out):
    id: uuid.UUID
    name: str
    organization_id: uuid.UUID


class PendingOut(Out):
    id: uuid.UUID
    protocol: str
    unique_id: str
    first_seen_at: datetime
    last_seen_at: datetime
    attempts: int


ONLINE_FOR = timedelta(minutes=10)


def device_out(device: Device, now: datetime) -> DeviceOut:
    seen = device.last_seen_at
    state = "unknown" if seen is None else ("online" if now - seen <= ONLINE_FOR else "offline")
    return DeviceOut.model_validate(device).model_copy(update={"status": state})


@router.post(
    "/devices",
    status_code=status.HTTP_201_CREATED,
    response_model=DeviceOut,
    summary="Register a device",
)
async def create_device(body: DeviceIn, caller: CallerDep, db: Db, services: Svc) -> DeviceOut:
    device = await service.create(
        db,
        caller=caller,
        name=body.name,
        unique_id=body.unique_id,
        protocol=body.protocol,
        organization_id=body.organization_id,
        group_id=body.group_id,
        driver_id=body.driver_id,
        attributes=body.attributes,
        now=services.clock(),
    )
    await db.commit()  # gateways look the device up in their own sessions
    services.device_changed(device.protocol, device.unique_id)
    return device_out(device, services.clock())


@router.get("/devices", response_model=list[DeviceOut], summary="Devices you may see")
async def list_devices(
    request: Request,
    response: Response,
    caller: CallerDep,
    db: Db,
    services: Svc,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    group_id: uuid.UUID | None = None,
) -> list[DeviceOut]:
    rows = await service.list_devices(
        db, caller=caller, limit=limit, after=id_cursor(cursor), group_id=group_id
    )
    now = services.clock()
    return [
        device_out(d, now)
        for d in page(
            rows, limit=limit, request=request, response=response, key=lambda d: [str(d.id)]
        )
    ]


@router.get("/devices/{device_id}", response_model=DeviceOut, summary="One device")
async def get_device(device_id: uuid.UUID, caller: CallerDep, db: Db, services: Svc) -> DeviceOut:
    return device_out(await service.get(db, caller=caller, device_id=device_id), services.clock())


@router.patch(
    "/devices/{device_id}", response_model=DeviceOut, summary="Rename, regroup or assign a driver"
)
async def change_device(
    device_id: uuid.UUID, body: DeviceChange, caller: CallerDep, db: Db, services: Svc
) -> DeviceOut:
    changes = body.model_dump(exclude_unset=True)
    if changes.get("name", "") is None or changes.get("attributes", {}) is None:
        raise Invalid("name and attributes cannot be null")
    device = await service.update(db, caller=caller, device_id=device_id, changes=changes)
    return device_out(device, services.clock())


@router.delete(
    "/devices/{device_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a device and its positions",
)
async def delete_device(device_id: uuid.UUID, caller: CallerDep, db: Db, services: Svc) -> None:
    device = await service.get(db, caller=caller, device_id=device_id)
    identity = (device.protocol, device.unique_id)
    await service.remove(db, caller=caller, device_id=device_id)
    await db.commit()
    services.device_changed(*identity)


@router.get(
    "/devices/{device_id}/positions",
    response_model=list[PositionOut],
    summary="A device's positions in a time range, oldest first",
)
async def list_positions(
    device_id: uuid.UUID,
    request: Request,
    response: Response,
    caller: CallerDep,
    db: Db,
    services: Svc,
    start: Annotated[
        AwareDatetime | None,
        Query(
            alias="from",
            description=("Start (ISO 8601 with offset); default 24 hours before `to`."),
        ),
    ] = None,
    end: Annotated[
        AwareDatetime | None,
        Query(alias="to", description=("End (ISO 8601 with offset); default now.")),
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Response:
    end = end or services.clock()
    start = start or end - timedelta(hours=24)
    if start > end:
        raise Invalid("`from` is after `to`", field="from")
    after = time_number_cursor(cursor)
    device = await service.get(db, caller=caller, device_id=device_id)
    audit.record(
        db,
        subject=device.driver_id,
        actor=caller.user.id,
        role=str(caller.roles.get(device.organization_id, "")),
        action="read_positions",
        resource=f"device:{device.id}",
        now=services.clock(),
    )
    rows = await service.positions(
        db, caller=caller, device_id=device_id, start=start, end=end, limit=limit, after=after
    )
    kept = page(
        rows,
        limit=limit,
        request=request,
        response=response,
        key=lambda p: [p.time.isoformat(), str(p.dedup)],
    )
    return _json(service.shown(kept, extra=servable), response)


class LatestPositionOut(PositionOut):
    device_id: uuid.UUID


@router.get(
    "/positions/latest",
    response_model=list[LatestPositionOut],
    summary="The newest position of every device you may see (one per device)",
)
async def latest_positions(caller: CallerDep, db: Db, services: Svc) -> Response:
    # Kept ready by the store (devices.latest): the items' JSON joined, no object per device.
    body, driven = await latest.answer(db, caller=caller)
    audit.record_reads_of(
        db, caller=caller, devices=driven, action="read_positions", now=services.clock()
    )
    return Response(body, media_type="application/json")


def _json(items: list[dict[str, Any]], response: Response | None = None) -> Response:
    """Answers already in the response model's shape (`service.shown`: typed columns from
    the database, free-form JSON bounded by `servable`), written by pydantic-core without a
    model object or a validation per row: for a day of fixes those cost more than the query.
    `tests/api/test_positions_shape.py` holds them to the models. `response` lends its
    `Link` header."""
    link = response.headers.get("Link") if response is not None else None
    return Response(
        to_json(items), media_type="application/json", headers={"Link": link} if link else None
    )


@router.get("/groups", response_model=list[GroupOut], tags=["groups"], summary="Device groups")
async def list_groups(caller: CallerDep, db: Db) -> list[DeviceGroup]:
    return await service.list_groups(db, caller=caller)


@router.post(
    "/groups",
    status_code=status.HTTP_201_CREATED,
    response_model=GroupOut,
    tags=["groups"],
    summary="Create a device group",
)
async def create_group(body: GroupIn, caller: CallerDep, db: Db, services: Svc) -> DeviceGroup:
    return await service.create_group(
        db,
        caller=caller,
        name=body.name,
        now=services.clock(),
        organization_id=body.organization_id,
    )


@router.patch(
    "/groups/{group_id}", response_model=GroupOut, tags=["groups"], summary="Rename a device group"
)
async def rename_group(
    group_id: uuid.UUID, body: GroupChange, caller: CallerDep, db: Db
) -> DeviceGroup:
    return await service.rename_group(db, caller=caller, group_id=group_id, name=body.name)


@router.delete(
    "/groups/{group_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["groups"],
    summary="Delete a device group (its devices stay, ungrouped)",
)
async def delete_group(group_id: uuid.UUID, caller: CallerDep, db: Db) -> None:
    await service.delete_group(db, caller=caller, group_id=group_id)


@router.get(
    "/pending-devices",
    response_model=list[PendingOut],
    tags=["devices"],
    summary="Devices that called in before anyone registered them (operators)",
)
async def list_pending(
    request: Request,
    response: Response,
    caller: CallerDep,
    db: Db,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> list[PendingDevice]:
    rows = await service.list_pending(db, caller=caller, limit=limit, after=id_cursor(cursor))
    return list(
        page(rows, limit=limit, request=request, response=response, key=lambda p: [str(p.id)])
    )
