"""Media operations: store and read encrypted objects, list, change and delete recordings.

Every function is scoped by the caller: media of an organisation the caller does not belong to
answers NotFound, exactly like an id that never existed.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import unicodedata
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import ColumnElement, Select, and_, delete, false, func, or_, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.accounts.caller import Caller
from camtel.accounts.roles import Role, can_manage_devices, sees_all_devices
from camtel.db.base import new_id
from camtel.db.engine import Database, lost_write_race
from camtel.devices import service as devices
from camtel.devices.models import Device
from camtel.errors import CamtelError, Forbidden, Invalid, NotFound
from camtel.media import crypto
from camtel.media.models import CATEGORIES, CHANNELS, Media, MediaTrack, MediaUpload
from camtel.media.store import Store, open_store

if TYPE_CHECKING:
    from camtel.config import Settings

log = logging.getLogger(__name__)

GiB = 1024**3


class TooLarge(CamtelError):
    status, type, title = 413, "too-large", "The file is too large"


class QuotaExceeded(CamtelError):
    status, type, title = 413, "quota-exceeded", "Storage quota exceeded"


class Unreadable(CamtelError):
    status, type, title = 410, "gone", "The recording can no longer be read"


@dataclass(slots=True)
class MediaLimits:
    """Per-account storage quota, largest single file, lifetime of an unfinished upload."""

    quota_bytes: int = 50 * GiB
    max_file_bytes: int = 8 * GiB
    upload_ttl_s: int = 24 * 3600

    @classmethod
    def from_settings(cls, settings: Settings) -> MediaLimits:
        return cls(
            quota_bytes=settings.media_quota_bytes,
            max_file_bytes=settings.media_max_file_bytes,
            upload_ttl_s=settings.media_upload_ttl_s,
        )


class Worker(Protocol):
    """A background worker of this process that takes recordings by id: the analyser
    (`camtel.media.analysis.Analyzer`), attached to the library by the composition root."""

    def submit(self, media_id: uuid.UUID) -> None: ...


class CopyWorker(Worker, Protocol):
    """A worker making copies of recordings (`camtel.media.derivatives.Redactor` and
    `Transcoder`), with the progress of those under way (0..1 by recording)."""

    progress: dict[uuid.UUID, float]


@dataclass(slots=True)
class MediaLibrary:
    """The media store, the key ring and the limits of one process (and its workers)."""

    store: Store
    keys: crypto.KeyRing
    limits: MediaLimits = field(default_factory=MediaLimits)
    analyzer: Worker | None = None
    redactor: CopyWorker | None = None
    transcoder: CopyWorker | None = None

    @classmethod
    def build(cls, settings: Settings) -> MediaLibrary:
        master = crypto.load_master_key(settings.data_dir / settings.media_master_key)
        store = open_store(
            settings.media_url,
            settings.data_dir,
            s3_endpoint=settings.media_s3_endpoint or None,
        )
        return cls(
            store=store, keys=crypto.KeyRing(master), limits=MediaLimits.from_settings(settings)
        )

    def submit(self, media_id: uuid.UUID) -> None:
        """Queue a recording for analysis (when no analyzer runs, it stays `processing` until
        the next analyzer start picks it up)."""
        if self.analyzer is not None:
            self.analyzer.submit(media_id)


@dataclass(frozen=True, slots=True)
class Workbench:
    """What a media worker (analysis, copies) works with: the database, the library, a
    private folder for decrypted working copies, a clock, and how often it looks for work
    left by other processes."""

    database: Database
    lib: MediaLibrary
    work_dir: Path
    poll_s: float
    clock: Callable[[], datetime]


# Names and channels

_UNSAFE = re.compile(r"[^\w.\- ()\[\]+@,]")


def clean_filename(name: str | None) -> str:
    """A safe display name from what the client sent: no directories, no `..`, no control
    characters, at most 255 bytes. Refuses names that are nothing but path tricks."""
    name = unicodedata.normalize("NFC", name or "")
    base = re.split(r"[\\/]", name)[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    base = _UNSAFE.sub("_", base).strip(" .")
    if not base:
        raise Invalid("the file name is empty or not a file name", field="file")
    while len(base.encode()) > 255:
        base = base[:-1]
    return base


_CHANNEL_HINT = re.compile(r"[_\-]?(N|E|P|M)?([FRI])\.[A-Za-z0-9]+$", re.IGNORECASE)


def guess_channel(filename: str) -> str:
    """Front/rear/cabin from dash cam naming: Novatek `..._001F.MP4`/`R`, BlackVue `_NF`/`_NR`
    (I = interior). Unknown when the name says nothing."""
    match = _CHANNEL_HINT.search(filename)
    if match is None:
        return "unknown"
    return {"F": "front", "R": "rear", "I": "cabin"}[match.group(2).upper()]


def check_channel(channel: str | None) -> str:
    if channel in (None, ""):
        return "unknown"
    if channel not in CHANNELS:
        raise Invalid(f"channel must be one of {', '.join(CHANNELS)}", field="channel")
    return channel


# Visibility


def visible_media(caller: Caller) -> Select[Media]:
    """Media the caller may see: all of an organisation's for roles that see every device;
    for drivers, their own uploads and the recordings of the vehicles they drive."""
    whole = [org for org, role in caller.roles.items() if sees_all_devices(role)]
    driving = [org for org, role in caller.roles.items() if not sees_all_devices(role)]
    conditions: list[ColumnElement[bool]] = []
    if whole:
        conditions.append(Media.organization_id.in_(whole))
    if driving:
        driven = select(Device.id).where(Device.driver_id == caller.user.id)
        conditions.append(
            and_(
                Media.organization_id.in_(driving),
                or_(Media.owner_id == caller.user.id, Media.device_id.in_(driven)),
            )
        )
    if not conditions:
        return select(Media).where(false())
    return select(Media).where(or_(*conditions))


async def get(db: AsyncSession, *, caller: Caller, media_id: uuid.UUID) -> Media:
    """One recording the caller may see, or NotFound."""
    media = await db.scalar(visible_media(caller).where(Media.id == media_id))
    if media is None:
        raise NotFound("media not found")
    return media


def _may_change(caller: Caller, media: Media) -> bool:
    role = caller.roles.get(media.organization_id)
    return media.owner_id == caller.user.id or (role is not None and can_manage_devices(role))


def may_change(caller: Caller, media: Media) -> bool:
    """Whether the caller may change, delete or share a recording: its owner, or an owner or
    manager of its organisation."""
    return _may_change(caller, media)


async def target(
    db: AsyncSession, *, caller: Caller, device_id: uuid.UUID | None
) -> tuple[uuid.UUID, uuid.UUID | None]:
    """(organisation, device) a new upload belongs to: the device's, or the caller's first
    organisation where they may add recordings (viewers may not)."""
    if device_id is not None:
        device = await devices.get(db, caller=caller, device_id=device_id)
        role = caller.roles[device.organization_id]
        caller.require(device.organization_id, role is not Role.VIEWER, "upload recordings")
        return device.organization_id, device.id
    allowed = [org for org, role in caller.roles.items() if role is not Role.VIEWER]
    if not allowed:
        raise Forbidden("you belong to no organisation where you may upload recordings")
    return min(allowed), None


async def used_bytes(db: AsyncSession, owner_id: uuid.UUID) -> int:
    """Bytes an owner uses: stored recordings and the declared length of open uploads."""
    stored = await db.scalar(
        select(func.coalesce(func.sum(Media.size), 0)).where(Media.owner_id == owner_id)
    )
    pending = await db.scalar(
        select(func.coalesce(func.sum(MediaUpload.length), 0)).where(
            MediaUpload.owner_id == owner_id, MediaUpload.media_id.is_(None)
        )
    )
    return int(stored or 0) + int(pending or 0)


async def room(db: AsyncSession, lib: MediaLibrary, owner_id: uuid.UUID, wanted: int = 0) -> int:
    """Bytes the owner may still add in one file; QuotaExceeded when `wanted` does not fit."""
    left = lib.limits.quota_bytes - await used_bytes(db, owner_id)
    if wanted > lib.limits.max_file_bytes:
        raise TooLarge(f"the largest file accepted is {lib.limits.max_file_bytes} bytes")
    if wanted > left or left <= 0:
        raise QuotaExceeded(
            f"this upload needs {wanted} bytes and {max(left, 0)} are left of the quota",
            quota_bytes=lib.limits.quota_bytes,
        )
    return min(left, lib.limits.max_file_bytes)


# Objects


def new_media_id() -> uuid.UUID:
    return new_id()


def object_key(owner_id: uuid.UUID, name: str) -> str:
    return f"o/{owner_id}/{name}"


async def _counted(
    chunks: AsyncIterable[bytes], digest: Any, limit: int, on_over: CamtelError
) -> AsyncIterator[bytes]:
    seen = 0
    async for chunk in chunks:
        seen += len(chunk)
        if seen > limit:
            raise on_over
        digest.update(chunk)
        yield chunk


async def put_object(
    lib: MediaLibrary,
    *,
    data_key: bytes,
    key: str,
    object_id: bytes,
    chunks: AsyncIterable[bytes],
    limit: int,
    on_over: CamtelError | None = None,
) -> tuple[int, str]:
    """Encrypt and store a stream; (plaintext size, sha256 hex). Nothing stays when the
    stream breaks or goes over `limit`."""
    digest = hashlib.sha256()
    over = on_over or TooLarge(f"the file is larger than the {limit} bytes allowed")
    try:
        stored = await lib.store.put(
            key, crypto.seal(data_key, object_id, _counted(chunks, digest, limit, over))
        )
    except BaseException:
        await lib.store.delete(key)
        raise
    return crypto.plain_size(stored), digest.hexdigest()


async def read_object(
    lib: MediaLibrary,
    *,
    data_key: bytes,
    key: str,
    object_id: bytes,
    start: int,
    end: int,
    total: int,
) -> AsyncIterator[bytes]:
    """Plaintext bytes [start, end) of an object holding `total` plaintext bytes; only the
    segments covering the range are fetched and decrypted."""
    header = b"".join([chunk async for chunk in lib.store.get(key, 0, crypto.HEADER)])
    opener = crypto.Opener(data_key, object_id, header, total)
    if end <= start:
        return
    first, _last, stored_start, stored_end = crypto.segment_span(start, end, total, opener.segment)
    stored = lib.store.get(key, stored_start, stored_end)
    async for chunk in opener.open_stream(
        first, stored, start - first * opener.segment, end - start
    ):
        yield chunk


async def decrypt_to_file(
    lib: MediaLibrary, path: Path, *, data_key: bytes, key: str, object_id: bytes, size: int
) -> None:
    """Write an object's plaintext to a new file readable by this user only (0600), for work
    that needs a file (analysis, redaction); the caller deletes it when done."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        async for chunk in read_object(
            lib, data_key=data_key, key=key, object_id=object_id, start=0, end=size, total=size
        ):
            await asyncio.to_thread(file.write, chunk)


#: Times a first key is tried when SQLite's snapshot went stale under it (positions commit
#: all the time while a device sends its first photo).
KEY_ATTEMPTS = 5


async def ensure_key(db: AsyncSession, lib: MediaLibrary, owner_id: uuid.UUID) -> bytes:
    """The owner's data key, made on first use and committed at once, so that a long upload
    never holds the new key row (and its lock) open; a racing first upload reads the winner's.

    The key is made in a transaction of its own: on SQLite its read-then-insert can meet
    another connection's commit in between and must then start again, and rolling back the
    caller's session instead would expire every object it holds (the signed-in person, a
    device), whose next attribute read would then need I/O where none may happen. The
    caller's transaction is committed first, as it always was by this function: a write it
    holds open would otherwise lock SQLite against the key's own transaction, and its next
    writes start from a snapshot that holds the key."""
    await db.commit()
    for attempt in range(KEY_ATTEMPTS):
        async with AsyncSession(db.bind, expire_on_commit=False) as own:
            try:
                async with own.begin():
                    key = await lib.keys.data_key(own, owner_id, create=True)
            except IntegrityError:  # another upload made it first
                key = await lib.keys.data_key(own, owner_id)
            except OperationalError as exc:
                if not lost_write_race(exc) or attempt == KEY_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(0.005 * (attempt + 1))
                continue
        return key
    raise AssertionError("unreachable")  # pragma: no cover


async def data_key_for(db: AsyncSession, lib: MediaLibrary, owner_id: uuid.UUID) -> bytes:
    try:
        return await lib.keys.data_key(db, owner_id)
    except crypto.KeyMissing:
        raise Unreadable("the owner's key was destroyed; the recording is unreadable") from None


def thumbnail_object_id(media_id: uuid.UUID) -> bytes:
    return media_id.bytes + b"thumb"


def redacted_object_id(media_id: uuid.UUID) -> bytes:
    return media_id.bytes + b"redacted"


# Library


async def list_media(
    db: AsyncSession,
    *,
    caller: Caller,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None = None,
    device_id: uuid.UUID | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    channel: str | None = None,
    has_event: bool | None = None,
    locked: bool | None = None,
    kind: str | None = None,
) -> list[Media]:
    """A page of visible recordings, newest first (by creation; `limit + 1` rows)."""
    query = (
        visible_media(caller).order_by(Media.created_at.desc(), Media.id.desc()).limit(limit + 1)
    )
    when = func.coalesce(Media.start_time, Media.created_at)
    if device_id is not None:
        query = query.where(Media.device_id == device_id)
    if start is not None:
        query = query.where(when >= start)
    if end is not None:
        query = query.where(when <= end)
    if channel is not None:
        query = query.where(Media.channel == check_channel(channel))
    if has_event is not None:
        query = query.where(Media.event_count > 0 if has_event else Media.event_count == 0)
    if locked is not None:
        query = query.where(Media.category == "locked" if locked else Media.category != "locked")
    if kind is not None:
        query = query.where(Media.kind == kind)
    if after is not None:
        created, last_id = after
        query = query.where(
            or_(Media.created_at < created, and_(Media.created_at == created, Media.id < last_id))
        )
    return list(await db.scalars(query))


async def update(
    db: AsyncSession, *, caller: Caller, media_id: uuid.UUID, changes: dict[str, Any]
) -> Media:
    """Lock or unlock a recording (category) or say which camera made it (channel)."""
    media = await get(db, caller=caller, media_id=media_id)
    caller.require(media.organization_id, _may_change(caller, media), "change this recording")
    if "category" in changes:
        if changes["category"] not in CATEGORIES:
            raise Invalid(f"category must be one of {', '.join(CATEGORIES)}", field="category")
        media.category = changes["category"]
    if "channel" in changes:
        media.channel = check_channel(changes["channel"])
    await db.flush()
    return media


async def remove(
    db: AsyncSession, lib: MediaLibrary, *, caller: Caller, media_id: uuid.UUID
) -> None:
    """Delete a recording: its object, thumbnail and track."""
    media = await get(db, caller=caller, media_id=media_id)
    caller.require(media.organization_id, _may_change(caller, media), "delete this recording")
    await delete_media(db, lib, media)


async def delete_media(db: AsyncSession, lib: MediaLibrary, media: Media) -> None:
    """Remove a recording's objects (the original, thumbnail, redacted and playable copies)
    and rows (no permission check: callers have done it); its share links go with the row
    (foreign key cascade)."""
    await lib.store.delete(media.storage_key)
    if media.thumbnail_key:
        await lib.store.delete(media.thumbnail_key)
    for copy in (media.redacted_key, media.playable_key):
        if copy:
            await lib.store.delete(copy)
    await db.execute(delete(MediaTrack).where(MediaTrack.media_id == media.id))
    await db.delete(media)
    await db.flush()


async def erase_owner(db: AsyncSession, lib: MediaLibrary, owner_id: uuid.UUID) -> int:
    """Erasure of a person's recordings: rows and objects deleted, then the key destroyed so
    any copy left behind (backups, replicas, a failed delete) is unreadable. Returns a count."""
    rows = list(await db.scalars(select(Media).where(Media.owner_id == owner_id)))
    for media in rows:
        try:
            await delete_media(db, lib, media)
        except Exception:
            log.warning("media object delete failed during erasure; the key is destroyed anyway")
    uploads = list(await db.scalars(select(MediaUpload).where(MediaUpload.owner_id == owner_id)))
    for upload in uploads:
        for key, _offset, _size in upload.parts:
            await lib.store.delete(key)
        await db.delete(upload)
    await crypto.destroy_owner_key(db, owner_id)
    await db.flush()
    return len(rows)
