"""The media library: upload (multipart here, tus 1.0 in `api/tus.py`), list, play with Range
(the original, its browser-playable copy, its redacted copy), tracks, delete."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote
from xml.sax.saxutils import escape, quoteattr

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import AwareDatetime, Field

from camtel.api import ranges, tus
from camtel.api.deps import CallerDep, Db, Svc
from camtel.api.pagination import DEFAULT_LIMIT, Cursor, Limit, page, time_cursor
from camtel.api.schemas import Out, StoredJson, Strict
from camtel.errors import Invalid, NotFound
from camtel.media import crypto, derivatives, service, uploads
from camtel.media.models import Media, MediaTrack
from camtel.media.ranges import etag_matches
from camtel.media.service import MediaLibrary
from camtel.media.shares import NotReady
from camtel.privacy import audit

router = APIRouter(tags=["media"])
# tus first: its /media/uploads... routes are matched before /media/{media_id}.
router.include_router(tus.router)

# The only routes that read bodies beyond CAMTEL_MAX_REQUEST_BYTES: they stream to the store
# and stop at the quota and the largest file themselves (app.py exempts exactly these).
STREAMED_UPLOADS = (("POST", "/media"), ("PATCH", tus.UPLOAD_PATH))


def get_library(services: Svc) -> MediaLibrary:
    return services.media


Lib = Annotated[MediaLibrary, Depends(get_library)]


class MediaOut(Out):
    id: uuid.UUID
    status: str = Field(
        description="`processing`, then `ready`, or `failed` (see `failure_reason`)."
    )
    stage: str = Field(description="What the analysis does now: queued, probe, track, done.")
    progress: float = Field(description="Analysis progress, 0 to 1.")
    failure_reason: str | None
    kind: str = Field(description="`video` or `photo`.")
    category: str = Field(description="`normal`, `event` or `locked` (kept a year).")
    channel: str = Field(description="`front`, `rear`, `cabin` or `unknown`.")
    device_id: uuid.UUID | None
    organization_id: uuid.UUID
    owner_id: uuid.UUID
    group_id: uuid.UUID | None = Field(description="Shared by front/rear/cabin files of a moment.")
    start_time: datetime | None
    duration_s: float | None
    size: int
    content_type: str
    filename: str
    sha256: str
    track_points: int
    event_count: int
    has_event: bool = False
    locked: bool = False
    has_thumbnail: bool = False
    probe: StoredJson
    playable: str = Field(
        "original",
        description="What a browser plays: `original` (`/content`), `pending` (being analysed, "
        "or a browser-playable copy is being made), `ready` (play `/playable`, an H.264 copy) "
        "or `failed` (no copy could be made).",
    )
    redaction: str | None = Field(
        None,
        description="The redacted copy (faces and plates blurred) for share links and their "
        "preview: null (never asked for), `pending`, `ready` (`/redacted`) or `failed`.",
    )
    created_at: datetime


def media_out(media: Media) -> MediaOut:
    fields = {name: getattr(media, name) for name in MediaOut.model_fields if hasattr(media, name)}
    fields.update(
        has_event=media.event_count > 0,
        locked=media.category == "locked",
        has_thumbnail=bool(media.thumbnail_key),
        playable=derivatives.playable_state(media),
    )
    return MediaOut.model_validate(fields)


class MediaChange(Strict):
    category: Literal["normal", "event", "locked"] | None = Field(
        None, description="`locked` keeps the recording from retention; `normal` unlocks it."
    )
    channel: Literal["front", "rear", "cabin", "unknown"] | None = None


# The library

_MULTIPART_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "device_id": {"type": "string", "format": "uuid"},
                        "channel": {
                            "type": "string",
                            "enum": ["front", "rear", "cabin", "unknown"],
                        },
                    },
                }
            }
        },
    }
}


@router.post(
    "/media",
    status_code=status.HTTP_201_CREATED,
    response_model=MediaOut,
    summary="Upload a recording (multipart field `file`)",
    openapi_extra=_MULTIPART_DOC,
)
async def upload_media(
    request: Request, caller: CallerDep, db: Db, services: Svc, lib: Lib
) -> MediaOut:
    """Streams the file into the encrypted store; 201 with `status: processing`, then the
    analysis makes it `ready` or `failed`. Over the quota or the size limit: 413."""
    await tus.may_collect_video(db, caller)
    declared = request.headers.get("content-length", "")
    reader = uploads.FormReader.from_request(
        request.headers.get("content-type", ""), request.stream()
    )
    media = await uploads.receive_form(
        db,
        lib,
        caller=caller,
        reader=reader,
        # The multipart framing adds a little to the file itself.
        declared=max(0, int(declared) - 8192) if declared.isdigit() else None,
        now=services.clock(),
    )
    try:
        await db.commit()
    except BaseException:  # a full database: no object without its row
        await lib.store.delete(media.storage_key)
        raise
    lib.submit(media.id)
    return media_out(media)


_after = time_cursor


@router.get("/media", response_model=list[MediaOut], summary="Recordings you may see, newest first")
async def list_media(
    request: Request,
    response: Response,
    caller: CallerDep,
    db: Db,
    services: Svc,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    device_id: uuid.UUID | None = None,
    start: Annotated[
        AwareDatetime | None, Query(alias="from", description="Recorded at or after (ISO 8601).")
    ] = None,
    end: Annotated[
        AwareDatetime | None, Query(alias="to", description="Recorded at or before (ISO 8601).")
    ] = None,
    channel: Literal["front", "rear", "cabin", "unknown"] | None = None,
    has_event: bool | None = None,
    locked: bool | None = None,
    kind: Literal["video", "photo"] | None = None,
) -> list[MediaOut]:
    rows = await service.list_media(
        db,
        caller=caller,
        limit=limit,
        after=_after(cursor),
        device_id=device_id,
        start=start,
        end=end,
        channel=channel,
        has_event=has_event,
        locked=locked,
        kind=kind,
    )
    kept = page(
        rows,
        limit=limit,
        request=request,
        response=response,
        key=lambda m: [m.created_at.isoformat(), str(m.id)],
    )
    await audit.record_device_reads(
        db,
        caller=caller,
        device_ids={m.device_id for m in kept},
        action="list_media",
        now=services.clock(),
    )
    return [media_out(m) for m in kept]


@router.get("/media/{media_id}", response_model=MediaOut, summary="One recording")
async def get_media(
    media_id: uuid.UUID, caller: CallerDep, db: Db, services: Svc, lib: Lib
) -> MediaOut:
    media = await service.get(db, caller=caller, media_id=media_id)
    await audit.record_device_reads(
        db, caller=caller, device_ids=[media.device_id], action="read_media", now=services.clock()
    )
    _nudge(lib, media)
    return media_out(media)


def _nudge(lib: MediaLibrary, media: Media) -> None:
    """Remind the worker of a copy waiting to be made (a copy asked for while no worker ran,
    or moved to a new owner); queueing is idempotent and the work stays in the background."""
    if media.status == "ready" and media.playable == "pending":
        derivatives.submit(lib, media.id, derivatives.PLAYABLE)


@router.patch("/media/{media_id}", response_model=MediaOut, summary="Lock, unlock, set channel")
async def change_media(
    media_id: uuid.UUID, body: MediaChange, caller: CallerDep, db: Db
) -> MediaOut:
    changes = body.model_dump(exclude_unset=True)
    if any(value is None for value in changes.values()):
        raise Invalid("category and channel cannot be null")
    return media_out(await service.update(db, caller=caller, media_id=media_id, changes=changes))


@router.delete("/media/{media_id}", status_code=204, summary="Delete a recording and its files")
async def delete_media(media_id: uuid.UUID, caller: CallerDep, db: Db, lib: Lib) -> None:
    await service.remove(db, lib, caller=caller, media_id=media_id)


# Bytes


def _disposition(filename: str) -> str:
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    return f"inline; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


async def _serve(
    request: Request,
    db: Db,
    lib: MediaLibrary,
    media: Media,
    *,
    key: str,
    object_id: bytes,
    size: int,
    content_type: str,
    etag: str,
    filename: str,
) -> Response:
    """Stored bytes of a recording (the original or a copy), decrypted as they stream, with
    Range (one range or several), If-None-Match and If-Range."""
    decided = ranges.for_request(
        request,
        size=size,
        etag=etag,
        content_type=content_type,
        headers={
            "ETag": etag,
            "Accept-Ranges": "bytes",
            "Cache-Control": "private, max-age=0, must-revalidate",
            "Content-Disposition": _disposition(filename),
        },
    )
    if not decided.reads:
        return ranges.answer(decided)
    data_key = await service.data_key_for(db, lib, media.owner_id)
    read = ranges.stored(lib, data_key=data_key, key=key, object_id=object_id, size=size)
    return ranges.answer(decided, read)


async def _audit_bytes(
    request: Request, db: Db, caller: CallerDep, services: Svc, media: Media
) -> None:
    if request.method == "GET":
        await audit.record_device_reads(
            db,
            caller=caller,
            device_ids=[media.device_id],
            action="read_media_content",
            now=services.clock(),
        )


def _bytes_route(path: str, summary: str) -> Any:
    """A GET route answering stored bytes with Range, and HEAD on the same function (left out
    of the schema: one function under two methods would give one operation id twice)."""

    def register(endpoint: Any) -> Any:
        router.head(path, include_in_schema=False)(endpoint)
        return router.get(
            path,
            summary=summary,
            response_class=StreamingResponse,
            responses={206: {"description": "Partial content"}, 304: {}, 416: {}},
        )(endpoint)

    return register


@_bytes_route("/media/{media_id}/content", "The recording's bytes (Range, If-None-Match, If-Range)")
async def media_content(
    media_id: uuid.UUID, request: Request, caller: CallerDep, db: Db, lib: Lib, services: Svc
) -> Response:
    media = await service.get(db, caller=caller, media_id=media_id)
    await _audit_bytes(request, db, caller, services, media)
    return await _serve(
        request,
        db,
        lib,
        media,
        key=media.storage_key,
        object_id=media.id.bytes,
        size=media.size,
        content_type=media.content_type,
        etag=f'"{media.sha256}"',
        filename=media.filename,
    )


def _copy_name(media: Media, copy: derivatives.Copy) -> str:
    stem = media.filename.rsplit(".", 1)[0] or "recording"
    return f"{stem}.{copy.name}{derivatives.SUFFIXES[media.kind]}"


async def _serve_copy(
    request: Request,
    db: Db,
    lib: MediaLibrary,
    media: Media,
    copy: derivatives.Copy,
) -> Response:
    info = getattr(media, copy.info)
    return await _serve(
        request,
        db,
        lib,
        media,
        key=getattr(media, copy.key),
        object_id=derivatives.object_id(copy, media.id),
        size=getattr(media, copy.size),
        content_type=info.get("content_type", derivatives.CONTENT_TYPES[media.kind]),
        etag=f'"{copy.name[0]}-{info.get("sha256", "")}"',
        filename=_copy_name(media, copy),
    )


@_bytes_route(
    "/media/{media_id}/playable",
    "The browser-playable H.264 copy of a recording browsers cannot decode (Range)",
)
async def media_playable(
    media_id: uuid.UUID, request: Request, caller: CallerDep, db: Db, lib: Lib, services: Svc
) -> Response:
    """Made in the background after analysis for a video whose codecs browsers cannot play
    (`playable` in the media item says which to play): 409 `not-ready` while it is being
    made, 404 when the original plays as it is or no copy could be made."""
    media = await service.get(db, caller=caller, media_id=media_id)
    state = derivatives.playable_state(media)
    if state == "pending":
        _nudge(lib, media)
        raise NotReady("the playable copy is being made; try again shortly")
    if state != "ready" or not media.playable_key:
        raise NotFound(
            "no playable copy could be made" if state == "failed" else "browsers play the original"
        )
    await _audit_bytes(request, db, caller, services, media)
    return await _serve_copy(request, db, lib, media, derivatives.PLAYABLE)


@router.post(
    "/media/{media_id}/redacted",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=MediaOut,
    summary="Ask for the redacted copy (faces and plates blurred) without making a link",
)
async def request_redacted(media_id: uuid.UUID, caller: CallerDep, db: Db, lib: Lib) -> MediaOut:
    """For a preview before sharing: the copy a redacted share link would serve, made in the
    background (`redaction` in the answer: `pending`, later `ready` or `failed`; asking again
    after a failure retries). Its owner or a manager of its organisation may ask (403 for
    others who see it); 409 `not-ready` while the recording is processing."""
    media = await service.get(db, caller=caller, media_id=media_id)
    caller.require(media.organization_id, service.may_change(caller, media), "share this")
    if media.status != "ready":
        raise NotReady("the recording is still being processed")
    queued = derivatives.request(media, derivatives.REDACTED)
    await db.commit()
    if queued:
        derivatives.submit(lib, media.id, derivatives.REDACTED)
    return media_out(media)


@_bytes_route(
    "/media/{media_id}/redacted",
    "The redacted copy a redacted share link serves, to preview it (Range)",
)
async def media_redacted(
    media_id: uuid.UUID, request: Request, caller: CallerDep, db: Db, lib: Lib, services: Svc
) -> Response:
    """409 `not-ready` while it is being made; 404 when it was never asked for (POST here
    asks) or making it failed."""
    media = await service.get(db, caller=caller, media_id=media_id)
    if media.redaction == "pending":
        raise NotReady("the redacted copy is being made; try again shortly")
    if media.redaction != "ready" or not media.redacted_key:
        raise NotFound(
            "making the redacted copy failed"
            if media.redaction == "failed"
            else "no redacted copy yet: POST to this address asks for one"
        )
    await _audit_bytes(request, db, caller, services, media)
    return await _serve_copy(request, db, lib, media, derivatives.REDACTED)


@router.get(
    "/media/{media_id}/thumbnail",
    summary="A JPEG of the first keyframe",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}},
)
async def media_thumbnail(
    media_id: uuid.UUID, request: Request, caller: CallerDep, db: Db, lib: Lib, services: Svc
) -> Response:
    media = await service.get(db, caller=caller, media_id=media_id)
    if not media.thumbnail_key:
        raise NotFound("no thumbnail (yet)" if media.status == "processing" else "no thumbnail")
    etag = f'"t-{media.sha256}"'
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers={"ETag": etag})
    data_key = await service.data_key_for(db, lib, media.owner_id)
    size = await lib.store.size(media.thumbnail_key)
    total = crypto.plain_size(size)
    data = b"".join(
        [
            chunk
            async for chunk in service.read_object(
                lib,
                data_key=data_key,
                key=media.thumbnail_key,
                object_id=service.thumbnail_object_id(media.id),
                start=0,
                end=total,
                total=total,
            )
        ]
    )
    await audit.record_device_reads(
        db,
        caller=caller,
        device_ids=[media.device_id],
        action="read_media_thumbnail",
        now=services.clock(),
    )
    return Response(
        data,
        media_type="image/jpeg",
        headers={"ETag": etag, "Cache-Control": "private, max-age=3600"},
    )


async def _track(
    db: Db, caller: CallerDep, services: Svc, media_id: uuid.UUID
) -> tuple[Media, MediaTrack | None]:
    """A recording's embedded track; reading someone else's is audited like their positions."""
    media = await service.get(db, caller=caller, media_id=media_id)
    await audit.record_device_reads(
        db,
        caller=caller,
        device_ids=[media.device_id],
        action="read_media_track",
        now=services.clock(),
    )
    return media, await db.get(MediaTrack, media.id)


@router.get(
    "/media/{media_id}/track.geojson",
    summary="The embedded GPS track as GeoJSON, with offsets from the start of the video",
    response_class=JSONResponse,
)
async def media_track_geojson(
    media_id: uuid.UUID, caller: CallerDep, db: Db, services: Svc
) -> JSONResponse:
    media, track = await _track(db, caller, services, media_id)
    points = track.points if track else []
    three_d = bool(points) and all(p[4] is not None for p in points)
    features = []
    if points:
        features.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "LineString" if len(points) > 1 else "Point",
                    "coordinates": (
                        [[p[3], p[2], p[4]] if three_d else [p[3], p[2]] for p in points]
                        if len(points) > 1
                        else ([points[0][3], points[0][2]])
                    ),
                },
                "properties": {
                    "media_id": str(media.id),
                    "offsets_s": [p[0] for p in points],
                    "times": [p[1] for p in points],
                    "speeds_kmh": [p[5] for p in points],
                    "courses": [p[6] for p in points],
                },
            }
        )
    body = {
        "type": "FeatureCollection",
        "features": features,
        "properties": {
            "media_id": str(media.id),
            "status": media.status,
            "start_time": media.start_time.isoformat() if media.start_time else None,
            "duration_s": media.duration_s,
            "source_format": track.source_format if track else None,
            "warnings": track.warnings if track else [],
        },
    }
    return JSONResponse(body, media_type="application/geo+json")


@router.get(
    "/media/{media_id}/track.gpx",
    summary="The embedded GPS track as GPX 1.1 (offsets in a camtel extension)",
    response_class=Response,
    responses={200: {"content": {"application/gpx+xml": {}}}},
)
async def media_track_gpx(
    media_id: uuid.UUID, caller: CallerDep, db: Db, services: Svc
) -> Response:
    media, track = await _track(db, caller, services, media_id)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<gpx version="1.1" creator="camtel" xmlns="http://www.topografix.com/GPX/1/1" '
        'xmlns:camtel="https://camtel.dev/gpx/1">',
        f"<trk><name>{escape(media.filename)}</name><trkseg>",
    ]
    for offset, time, lat, lon, alt, speed, course in track.points if track else []:
        pieces = [f"<trkpt lat={quoteattr(repr(lat))} lon={quoteattr(repr(lon))}>"]
        if alt is not None:
            pieces.append(f"<ele>{alt}</ele>")
        if time:
            pieces.append(f"<time>{escape(time)}</time>")
        extra = f"<camtel:offset_s>{offset}</camtel:offset_s>"
        if speed is not None:
            extra += f"<camtel:speed_kmh>{speed}</camtel:speed_kmh>"
        if course is not None:
            extra += f"<camtel:course>{course}</camtel:course>"
        pieces.append(f"<extensions>{extra}</extensions></trkpt>")
        lines.append("".join(pieces))
    lines.append("</trkseg></trk></gpx>")
    stem = media.filename.rsplit(".", 1)[0] or "track"
    return Response(
        "\n".join(lines) + "\n",
        media_type="application/gpx+xml",
        headers={"Content-Disposition": _disposition(stem + ".gpx")},
    )
