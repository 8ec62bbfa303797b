"""Geofences: polygons, circles (Point + radius_m) and corridors (LineString + width_m)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, Field

from camtel.api.deps import CallerDep, Db, Svc
from camtel.api.pagination import DEFAULT_LIMIT, Cursor, Limit, id_cursor, page
from camtel.api.schemas import JsonObject, StoredJson, Strict, bounded
from camtel.errors import Invalid
from camtel.geofences import service
from camtel.geofences.service import FenceView
from camtel.services import Services

router = APIRouter(tags=["geofences"])

Area = Annotated[
    dict[str, Any],
    bounded(max_bytes=512 * 1024),  # 10,000 positions fit
    Field(
        description=(
            "A GeoJSON geometry in WGS 84 ([longitude, latitude]): Polygon or MultiPolygon; "
            "Point with `radius_m` (a circle, measured on the ellipsoid); LineString with "
            "`width_m` (a corridor of that total width)."
        ),
        examples=[{"type": "Point", "coordinates": [13.405, 52.52]}],
    ),
]
Metres = Annotated[float, Field(gt=0, description="Metres.")]
Limit_kmh = Annotated[float, Field(gt=0, le=1000, description="Speed limit inside, km/h.")]
Schedule = Annotated[
    JsonObject,
    Field(
        description=(
            'When the fence is watched: {"time_zone": "Europe/Berlin", "days": ["mon", ...], '
            '"start": "08:00", "end": "18:00"}; every key optional; an end before the start '
            "runs over midnight. Absent: always."
        )
    ),
]
Breach = Annotated[
    Literal["exit", "enter"],
    Field(
        description=(
            "`exit`: the device must stay inside, leaving is an urgent breach; `enter`: it "
            "must stay out, entering is an urgent breach."
        )
    ),
]


class GeofenceIn(Strict):
    name: str = Field(min_length=1, max_length=120)
    area: Area
    radius_m: Metres | None = None
    width_m: Metres | None = None
    device_ids: list[uuid.UUID] = Field(
        default_factory=list,
        max_length=10_000,
        description="Devices it applies to; with no devices and no groups, every device of "
        "the organisation.",
    )
    group_ids: list[uuid.UUID] = Field(default_factory=list, max_length=1000)
    speed_limit_kmh: Limit_kmh | None = None
    schedule: Schedule | None = None
    breach_on: Breach | None = None
    organization_id: uuid.UUID | None = Field(
        None, description="Default: your first organisation where you manage devices."
    )


class GeofenceChange(Strict):
    name: str | None = Field(None, min_length=1, max_length=120)
    area: Area | None = None
    radius_m: Metres | None = None
    width_m: Metres | None = None
    device_ids: list[uuid.UUID] | None = Field(None, max_length=10_000)
    group_ids: list[uuid.UUID] | None = Field(None, max_length=1000)
    speed_limit_kmh: Limit_kmh | None = None
    schedule: Schedule | None = None
    breach_on: Breach | None = None


class GeofenceOut(BaseModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    kind: str = Field(description="`polygon`, `circle` or `corridor`.")
    area: StoredJson
    radius_m: float | None
    width_m: float | None
    device_ids: list[uuid.UUID]
    group_ids: list[uuid.UUID]
    speed_limit_kmh: float | None
    schedule: StoredJson | None
    breach_on: str | None
    created_at: datetime
    updated_at: datetime


def _out(view: FenceView) -> GeofenceOut:
    fence = view.fence
    return GeofenceOut(
        id=fence.id,
        organization_id=fence.organization_id,
        name=fence.name,
        kind=fence.kind,
        area=fence.geometry,
        radius_m=fence.radius_m,
        width_m=fence.width_m,
        device_ids=view.device_ids,
        group_ids=view.group_ids,
        speed_limit_kmh=fence.speed_limit_kmh,
        schedule=fence.schedule,
        breach_on=fence.breach_on,
        created_at=fence.created_at,
        updated_at=fence.updated_at,
    )


def _changed(services: Services, organization_id: uuid.UUID) -> None:
    services.fences_changed(organization_id)  # the pipeline's fence cache reloads them


@router.post(
    "/geofences",
    status_code=status.HTTP_201_CREATED,
    response_model=GeofenceOut,
    summary="Create a geofence",
)
async def create_geofence(
    body: GeofenceIn, caller: CallerDep, db: Db, services: Svc
) -> GeofenceOut:
    view = await service.create(
        db,
        caller=caller,
        name=body.name,
        area=body.area,
        radius_m=body.radius_m,
        width_m=body.width_m,
        device_ids=body.device_ids,
        group_ids=body.group_ids,
        speed_limit_kmh=body.speed_limit_kmh,
        schedule=body.schedule,
        breach_on=body.breach_on,
        organization_id=body.organization_id,
        now=services.clock(),
    )
    out = _out(view)
    await db.commit()  # the pipeline reloads the organisation's fences in its own session
    _changed(services, out.organization_id)
    return out


@router.get("/geofences", response_model=list[GeofenceOut], summary="Geofences you may see")
async def list_geofences(
    request: Request,
    response: Response,
    caller: CallerDep,
    db: Db,
    organization_id: uuid.UUID | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> list[GeofenceOut]:
    rows = await service.list_fences(
        db, caller=caller, limit=limit, after=id_cursor(cursor), organization_id=organization_id
    )
    kept = page(
        rows, limit=limit, request=request, response=response, key=lambda v: [str(v.fence.id)]
    )
    return [_out(v) for v in kept]


@router.get("/geofences/{fence_id}", response_model=GeofenceOut, summary="One geofence")
async def get_geofence(fence_id: uuid.UUID, caller: CallerDep, db: Db) -> GeofenceOut:
    return _out(await service.get(db, caller=caller, fence_id=fence_id))


@router.patch("/geofences/{fence_id}", response_model=GeofenceOut, summary="Change a geofence")
async def change_geofence(
    fence_id: uuid.UUID, body: GeofenceChange, caller: CallerDep, db: Db, services: Svc
) -> GeofenceOut:
    changes = body.model_dump(exclude_unset=True)
    if changes.get("name", "") is None or changes.get("area", {}) is None:
        raise Invalid("name and area cannot be null")
    view = await service.update(
        db, caller=caller, fence_id=fence_id, changes=changes, now=services.clock()
    )
    out = _out(view)
    await db.commit()
    _changed(services, out.organization_id)
    return out


@router.delete(
    "/geofences/{fence_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a geofence"
)
async def delete_geofence(fence_id: uuid.UUID, caller: CallerDep, db: Db, services: Svc) -> None:
    organization_id = await service.remove(db, caller=caller, fence_id=fence_id)
    await db.commit()
    _changed(services, organization_id)
