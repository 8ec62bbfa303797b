"""Resumable uploads of recordings (tus 1.0: creation, termination): start, ask how much
arrived, send the next bytes, abandon. `api/media.py` includes this router ahead of its own
routes, so that "uploads" is never read as a recording's id."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response

from camtel.api.deps import CallerDep, Db, Svc
from camtel.errors import Forbidden
from camtel.media import uploads
from camtel.privacy.minors import Kind, collection_allowed

router = APIRouter()  # tagged "media" by the router of api/media.py that includes it

TUS_PATH = "/media/uploads"
UPLOAD_PATH = TUS_PATH + "/{upload_id}"
TUS_HEADERS = {"Tus-Resumable": uploads.TUS_VERSION}


async def may_collect_video(db: Db, caller: CallerDep) -> None:
    """P20: a minor's recordings are taken only with their guardian's consent (checked by
    both ways of uploading: tus here and the multipart POST of `api/media.py`)."""
    if not await collection_allowed(db, caller.user.id, Kind.VIDEO):
        raise Forbidden(
            "recordings of an account under 18 need the guardian's consent first",
            code="consent_required",
        )


@router.options(TUS_PATH, status_code=204, summary="tus: what this server supports")
@router.options(UPLOAD_PATH, status_code=204, include_in_schema=False)
async def tus_options(services: Svc) -> Response:
    return Response(
        status_code=204,
        headers={
            **TUS_HEADERS,
            "Tus-Version": uploads.TUS_VERSION,
            "Tus-Extension": uploads.TUS_EXTENSIONS,
            "Tus-Max-Size": str(services.media.limits.max_file_bytes),
        },
    )


@router.post(TUS_PATH, status_code=201, summary="tus: start a resumable upload")
async def tus_create(
    request: Request,
    caller: CallerDep,
    db: Db,
    services: Svc,
    tus_resumable: Annotated[str | None, Header()] = None,
    upload_length: Annotated[str | None, Header()] = None,
    upload_metadata: Annotated[str | None, Header()] = None,
) -> Response:
    """Headers `Tus-Resumable: 1.0.0`, `Upload-Length` and optional `Upload-Metadata`
    (`filename`, `filetype`, `device_id`, `channel`, base64 values). Answers 201 with `Location`."""
    await may_collect_video(db, caller)
    uploads.check_tus_version(tus_resumable)
    length = uploads.parse_length(upload_length, "Upload-Length")
    made = await uploads.create_upload(
        db,
        services.media,
        caller=caller,
        length=length,
        metadata=uploads.parse_metadata(upload_metadata),
        now=services.clock(),
    )
    await db.commit()
    location = str(request.url_for("tus_head", upload_id=str(made.id)))
    return Response(
        status_code=201, headers={**TUS_HEADERS, "Location": location, "Upload-Offset": "0"}
    )


def _upload_headers(upload: Any) -> dict[str, str]:
    headers = {
        **TUS_HEADERS,
        "Upload-Offset": str(upload.offset),
        "Upload-Length": str(upload.length),
        "Cache-Control": "no-store",
    }
    if upload.media_id is not None:
        headers["Camtel-Media-Id"] = str(upload.media_id)
    return headers


@router.head(UPLOAD_PATH, summary="tus: how much has arrived")
async def tus_head(
    upload_id: uuid.UUID,
    caller: CallerDep,
    db: Db,
    services: Svc,
    tus_resumable: Annotated[str | None, Header()] = None,
) -> Response:
    uploads.check_tus_version(tus_resumable)
    upload = await uploads.get_upload(db, caller=caller, upload_id=upload_id, now=services.clock())
    return Response(status_code=200, headers=_upload_headers(upload))


@router.patch(UPLOAD_PATH, status_code=204, summary="tus: send the next bytes")
async def tus_patch(
    upload_id: uuid.UUID,
    request: Request,
    caller: CallerDep,
    db: Db,
    services: Svc,
    tus_resumable: Annotated[str | None, Header()] = None,
    upload_offset: Annotated[str | None, Header()] = None,
    content_type: Annotated[str | None, Header()] = None,
) -> Response:
    """Body `application/offset+octet-stream` at `Upload-Offset`; a wrong offset is 409, bytes
    past the declared length 413. The last PATCH answers with `Camtel-Media-Id`."""
    uploads.check_tus_version(tus_resumable)
    if (content_type or "").split(";")[0].strip() != "application/offset+octet-stream":
        raise uploads.UnsupportedMedia("tus PATCH bodies are application/offset+octet-stream")
    offset = uploads.parse_length(upload_offset, "Upload-Offset")
    now = services.clock()
    lib = services.media
    upload = await uploads.get_upload(db, caller=caller, upload_id=upload_id, now=now)
    before = len(upload.parts)
    await uploads.append(db, lib, upload=upload, offset=offset, chunks=request.stream())
    parts = list(upload.parts)
    media = None
    try:
        if upload.offset == upload.length:
            media = await uploads.complete(db, lib, upload=upload, now=now)
        await db.commit()
    except BaseException:
        # Not committed (a full database): nothing of this PATCH stays, the upload is where
        # it was (HEAD says so) and the client sends the same bytes again.
        await uploads.delete_parts(lib, parts[before:])
        if media is not None:
            await lib.store.delete(media.storage_key)
        raise
    if media is not None:
        await uploads.delete_parts(lib, parts)  # assembled and committed: no longer needed
        lib.submit(media.id)
    return Response(status_code=204, headers=_upload_headers(upload))


@router.delete(UPLOAD_PATH, status_code=204, summary="tus: abandon an upload")
async def tus_delete(
    upload_id: uuid.UUID,
    caller: CallerDep,
    db: Db,
    services: Svc,
    tus_resumable: Annotated[str | None, Header()] = None,
) -> Response:
    uploads.check_tus_version(tus_resumable)
    upload = await uploads.get_upload(db, caller=caller, upload_id=upload_id, now=services.clock())
    await uploads.terminate(db, services.media, upload=upload)
    return Response(status_code=204, headers=TUS_HEADERS)
