"""Getting recordings in: a streaming multipart reader and resumable uploads (tus 1.0).

Both paths stream straight into the encrypted store, so memory stays constant whatever the
file size; both are bounded by the owner's quota and the largest file allowed. A tus upload
keeps each PATCH as one encrypted part and assembles them into the final object when the
last byte arrives.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from python_multipart import MultipartParser
from python_multipart.multipart import parse_options_header
from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.accounts.caller import Caller
from camtel.errors import CamtelError, Conflict, Invalid, NotFound
from camtel.media import service
from camtel.media.models import Media, MediaUpload
from camtel.media.service import MediaLibrary, QuotaExceeded, TooLarge

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,termination"
MAX_FIELD = 4096

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".heic", ".webp")
PHOTO_TYPES = ("image/",)


class PreconditionFailed(CamtelError):
    status, type, title = 412, "precondition-failed", "Unsupported tus version"


class UnsupportedMedia(CamtelError):
    status, type, title = 415, "unsupported-media-type", "Unsupported content type"


def claimed_kind(filename: str, content_type: str) -> str:
    """What the client says the file is; analysis checks the bytes against it."""
    if filename.lower().endswith(PHOTO_SUFFIXES) or content_type.startswith(PHOTO_TYPES):
        return "photo"
    return "video"


def content_type_for(filename: str, sent: str | None) -> str:
    """A content type to answer downloads with: the client's if plausible, else by suffix."""
    if sent and "/" in sent and len(sent) <= 100 and sent != "application/octet-stream":
        return sent.split(";")[0].strip()
    lower = filename.lower()
    for suffix, kind in (
        (".mp4", "video/mp4"),
        (".mov", "video/quicktime"),
        (".avi", "video/x-msvideo"),
        (".ts", "video/mp2t"),
        (".mkv", "video/x-matroska"),
        (".jpg", "image/jpeg"),
        (".jpeg", "image/jpeg"),
        (".png", "image/png"),
    ):
        if lower.endswith(suffix):
            return kind
    return "application/octet-stream"


# Multipart


@dataclass(slots=True)
class Part:
    """One part of a multipart body; read `chunks()` before asking for the next part."""

    name: str
    filename: str | None
    content_type: str
    _reader: FormReader

    def chunks(self) -> AsyncIterator[bytes]:
        return self._reader._part_chunks()

    async def text(self) -> str:
        data = bytearray()
        async for chunk in self.chunks():
            data += chunk
            if len(data) > MAX_FIELD:
                raise Invalid(f"the form field {self.name!r} is too long", field=self.name)
        return data.decode("utf-8", "replace")


@dataclass(slots=True)
class FormReader:
    """multipart/form-data from a byte stream, part by part, without buffering files."""

    stream: AsyncIterator[bytes]
    boundary: bytes
    _events: deque[tuple[str, Any]] = field(default_factory=deque)
    _headers: dict[str, str] = field(default_factory=dict)
    _field: bytearray = field(default_factory=bytearray)
    _value: bytearray = field(default_factory=bytearray)
    _done: bool = False
    _parser: MultipartParser | None = None

    @classmethod
    def from_request(cls, content_type: str, stream: AsyncIterable[bytes]) -> FormReader:
        kind, options = parse_options_header(content_type)
        if kind != b"multipart/form-data" or not options.get(b"boundary"):
            raise UnsupportedMedia("send the file as multipart/form-data (field `file`)")
        reader = cls(stream=aiter(stream), boundary=options[b"boundary"])
        reader._parser = MultipartParser(
            reader.boundary,
            {
                "on_part_begin": reader._begin,
                "on_header_field": lambda d, s, e: reader._field.extend(d[s:e]),
                "on_header_value": lambda d, s, e: reader._value.extend(d[s:e]),
                "on_header_end": reader._header_end,
                "on_headers_finished": lambda: reader._events.append(
                    ("part", dict(reader._headers))
                ),
                "on_part_data": lambda d, s, e: reader._events.append(("data", bytes(d[s:e]))),
                "on_part_end": lambda: reader._events.append(("end", None)),
                "on_end": lambda: reader._events.append(("done", None)),
            },
        )
        return reader

    def _begin(self) -> None:
        self._headers = {}

    def _header_end(self) -> None:
        self._headers[bytes(self._field).decode("latin-1").lower()] = bytes(self._value).decode(
            "utf-8", "replace"
        )
        self._field.clear()
        self._value.clear()

    async def _next(self) -> tuple[str, Any]:
        while not self._events:
            if self._done:
                return ("done", None)
            try:
                chunk = await anext(self.stream)
            except StopAsyncIteration:
                self._done = True
                assert self._parser is not None
                self._parser.finalize()
                continue
            assert self._parser is not None
            try:
                self._parser.write(chunk)
            except Exception as exc:
                raise Invalid(f"the multipart body is malformed: {exc}") from None
        return self._events.popleft()

    async def _part_chunks(self) -> AsyncIterator[bytes]:
        while True:
            kind, value = await self._next()
            if kind == "data":
                if value:
                    yield value
            elif kind in ("end", "done"):
                return

    async def parts(self) -> AsyncIterator[Part]:
        while True:
            kind, value = await self._next()
            if kind == "done":
                return
            if kind != "part":
                continue
            _disposition, options = parse_options_header(value.get("content-disposition", ""))
            name = options.get(b"name", b"").decode("utf-8", "replace")
            filename = options.get(b"filename")
            yield Part(
                name=name,
                filename=None if filename is None else filename.decode("utf-8", "replace"),
                content_type=value.get("content-type", "application/octet-stream"),
                _reader=self,
            )


def _uuid_field(value: str, name: str) -> uuid.UUID | None:
    if not value.strip():
        return None
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        raise Invalid(f"{name} is not a valid id", field=name) from None


async def receive_form(
    db: AsyncSession,
    lib: MediaLibrary,
    *,
    caller: Caller,
    reader: FormReader,
    declared: int | None,
    now: datetime,
) -> Media:
    """Store the `file` part of a multipart upload and make its media row (`processing`)."""
    owner = caller.user.id
    await service.room(db, lib, owner, wanted=declared or 0)
    data_key = await service.ensure_key(db, lib, owner)
    fields: dict[str, str] = {}
    stored: tuple[Media, str] | None = None
    try:
        async for part in reader.parts():
            if part.filename is None:
                if part.name in ("device_id", "channel"):
                    fields[part.name] = await part.text()
                else:
                    await part.text()  # unknown fields are read and ignored
                continue
            if part.name != "file" or stored is not None:
                raise Invalid("send exactly one file, in the field `file`", field=part.name)
            filename = service.clean_filename(part.filename)
            media_id = service.new_media_id()
            media = Media(
                id=media_id,
                owner_id=owner,
                filename=filename,
                content_type=content_type_for(filename, part.content_type),
                kind=claimed_kind(filename, part.content_type),
                storage_key=service.object_key(owner, str(media_id)),
                created_at=now,
            )
            limit = await service.room(db, lib, owner)
            over = _over(lib, limit)
            size, sha = await service.put_object(
                lib,
                data_key=data_key,
                key=media.storage_key,
                object_id=media.id.bytes,
                chunks=part.chunks(),
                limit=limit,
                on_over=over,
            )
            media.size, media.sha256 = size, sha
            stored = (media, media.storage_key)
        if stored is None:
            raise Invalid(
                "the upload has no file: send it in the multipart field `file`", field="file"
            )
        media = stored[0]
        org, device = await service.target(
            db, caller=caller, device_id=_uuid_field(fields.get("device_id", ""), "device_id")
        )
        media.organization_id, media.device_id = org, device
        channel = service.check_channel(fields.get("channel") or None)
        media.channel = channel if channel != "unknown" else service.guess_channel(media.filename)
        db.add(media)
        await db.flush()
    except BaseException:
        if stored is not None:
            await lib.store.delete(stored[1])
        raise
    return media


def _over(lib: MediaLibrary, limit: int) -> CamtelError:
    if limit >= lib.limits.max_file_bytes:
        return TooLarge(f"the largest file accepted is {lib.limits.max_file_bytes} bytes")
    return QuotaExceeded(
        f"the file does not fit: {limit} bytes are left of the quota",
        quota_bytes=lib.limits.quota_bytes,
    )


# tus 1.0


def check_tus_version(header: str | None) -> None:
    """Every tus request but OPTIONS says which protocol version it speaks."""
    if header != TUS_VERSION:
        raise PreconditionFailed(f"this server speaks tus {TUS_VERSION} (Tus-Resumable header)")


def parse_metadata(header: str | None) -> dict[str, str]:
    """`Upload-Metadata: key base64value,key2 base64value2` as a dict (values decoded)."""
    found: dict[str, str] = {}
    if not header:
        return found
    for pair in header.split(","):
        pieces = pair.strip().split(" ")
        if not pieces[0]:
            continue
        if len(pieces) > 2:
            raise Invalid("Upload-Metadata pairs are `key base64value`", field="Upload-Metadata")
        value = ""
        if len(pieces) == 2:
            try:
                value = base64.b64decode(pieces[1], validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise Invalid(
                    f"Upload-Metadata value of {pieces[0]!r} is not base64 UTF-8",
                    field="Upload-Metadata",
                ) from None
        found[pieces[0]] = value
    return found


def parse_length(value: str | None, name: str) -> int:
    if value is None or not value.isdigit() or len(value) > 19:
        raise Invalid(f"{name} must be a non-negative integer", field=name)
    return int(value)


async def create_upload(
    db: AsyncSession,
    lib: MediaLibrary,
    *,
    caller: Caller,
    length: int,
    metadata: dict[str, str],
    now: datetime,
) -> MediaUpload:
    """tus creation: check the quota for the declared length and open an upload."""
    filename = service.clean_filename(metadata.get("filename") or metadata.get("name") or "upload")
    org, device = await service.target(
        db, caller=caller, device_id=_uuid_field(metadata.get("device_id", ""), "device_id")
    )
    await service.room(db, lib, caller.user.id, wanted=length)
    await service.ensure_key(db, lib, caller.user.id)
    upload = MediaUpload(
        organization_id=org,
        owner_id=caller.user.id,
        device_id=device,
        channel=service.check_channel(metadata.get("channel") or None),
        filename=filename,
        content_type=content_type_for(
            filename, metadata.get("filetype") or metadata.get("content_type")
        ),
        length=length,
        offset=0,
        parts=[],
        expires_at=now + timedelta(seconds=lib.limits.upload_ttl_s),
        created_at=now,
    )
    db.add(upload)
    await db.flush()
    return upload


async def get_upload(
    db: AsyncSession, *, caller: Caller, upload_id: uuid.UUID, now: datetime
) -> MediaUpload:
    """An upload of the caller's (only the person who started it may continue it)."""
    upload = await db.get(MediaUpload, upload_id)
    if (
        upload is None
        or upload.owner_id != caller.user.id
        or upload.organization_id not in caller.roles
    ):
        raise NotFound("upload not found")
    if upload.expires_at <= now and upload.media_id is None:
        raise NotFound("upload expired")
    return upload


def part_key(upload: MediaUpload, offset: int) -> str:
    return service.object_key(
        upload.owner_id, f"uploads/{upload.id}/{offset}-{uuid.uuid4().hex[:8]}"
    )


def part_object_id(upload: MediaUpload, offset: int) -> bytes:
    return upload.id.bytes + offset.to_bytes(8, "big")


async def append(
    db: AsyncSession,
    lib: MediaLibrary,
    *,
    upload: MediaUpload,
    offset: int,
    chunks: AsyncIterable[bytes],
) -> int:
    """tus PATCH: store the body as one part at `offset`; returns the new offset. A wrong
    offset is 409; a body beyond the declared length is refused whole (413), the upload
    stays where it was."""
    if upload.media_id is not None or offset != upload.offset:
        raise Conflict(f"Upload-Offset is {upload.offset}, not {offset}", offset=upload.offset)
    data_key = await service.data_key_for(db, lib, upload.owner_id)
    key = part_key(upload, offset)
    left = upload.length - upload.offset
    size, _sha = await service.put_object(
        lib,
        data_key=data_key,
        key=key,
        object_id=part_object_id(upload, offset),
        chunks=chunks,
        limit=left,
        on_over=TooLarge(f"the body goes past the declared Upload-Length of {upload.length}"),
    )
    if size == 0:
        await lib.store.delete(key)
        return upload.offset
    parts = [*upload.parts, [key, offset, size]]
    try:
        # Compare-and-set on the offset: of two PATCHes racing at the same offset, one wins.
        done = await db.execute(
            update(MediaUpload)
            .where(MediaUpload.id == upload.id, MediaUpload.offset == offset)
            .values(offset=offset + size, parts=parts)
            .execution_options(synchronize_session=False)
        )
    except BaseException:  # a full database: the part must not outlive the refusal
        await lib.store.delete(key)
        raise
    if cast(CursorResult[Any], done).rowcount != 1:
        await lib.store.delete(key)
        raise Conflict("another request moved the upload on; ask HEAD for the offset")
    upload.offset, upload.parts = offset + size, parts
    return upload.offset


async def _assembled(
    lib: MediaLibrary, data_key: bytes, upload: MediaUpload
) -> AsyncIterator[bytes]:
    for key, offset, size in upload.parts:
        async for chunk in service.read_object(
            lib,
            data_key=data_key,
            key=key,
            object_id=part_object_id(upload, offset),
            start=0,
            end=size,
            total=size,
        ):
            yield chunk


async def complete(
    db: AsyncSession, lib: MediaLibrary, *, upload: MediaUpload, now: datetime
) -> Media:
    """Assemble the parts of a finished upload into one encrypted object and a media row.

    The part objects stay: the caller deletes them (`delete_parts`) once the media row is
    committed. Were they deleted before, a commit refused by a full database would leave an
    upload whose parts are gone, that no client could finish."""
    data_key = await service.data_key_for(db, lib, upload.owner_id)
    media_id = service.new_media_id()
    key = service.object_key(upload.owner_id, str(media_id))
    size, sha = await service.put_object(
        lib,
        data_key=data_key,
        key=key,
        object_id=media_id.bytes,
        chunks=_assembled(lib, data_key, upload),
        limit=upload.length,
    )
    media = Media(
        id=media_id,
        organization_id=upload.organization_id,
        owner_id=upload.owner_id,
        device_id=upload.device_id,
        channel=upload.channel
        if upload.channel != "unknown"
        else service.guess_channel(upload.filename),
        filename=upload.filename,
        content_type=upload.content_type,
        kind=claimed_kind(upload.filename, upload.content_type),
        size=size,
        sha256=sha,
        storage_key=key,
        created_at=now,
    )
    db.add(media)
    upload.media_id, upload.parts = media_id, []
    try:
        await db.flush()
    except BaseException:
        await lib.store.delete(key)
        raise
    return media


async def drop_parts(lib: MediaLibrary, upload: MediaUpload) -> None:
    await delete_parts(lib, upload.parts)


async def delete_parts(lib: MediaLibrary, parts: list[Any]) -> None:
    """Delete part objects (`[key, offset, size]` as `MediaUpload.parts` lists them)."""
    for key, _offset, _size in parts:
        await lib.store.delete(key)


async def terminate(db: AsyncSession, lib: MediaLibrary, *, upload: MediaUpload) -> None:
    """tus termination: the parts and the upload are gone."""
    await drop_parts(lib, upload)
    await db.delete(upload)
    await db.flush()


async def expired_uploads(db: AsyncSession, *, now: datetime) -> list[MediaUpload]:
    """Unfinished uploads past their lifetime, for the sweeper."""
    return list(
        await db.scalars(
            select(MediaUpload).where(MediaUpload.expires_at <= now, MediaUpload.media_id.is_(None))
        )
    )
