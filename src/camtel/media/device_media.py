"""Photos and clips a device sends over its telematics link (JT/T 808 0x0801) into the library.

The gateway's `Sink` calls `handler(services)` for each reassembled `MediaChunk` of a known
device and acknowledges the device only when it returns: the object is stored and the media
row committed. Anything raised means "not stored": the device keeps the file and sends it again.

Decisions:
- Owner. `Media.owner_id` is a person (their data key encrypts the object, their quota counts
  it). A device's media belongs to its organisation's oldest owner membership (by the time
  they joined), or, in an organisation with no owner, its oldest manager. An organisation
  with neither cannot receive device media (not acknowledged until it has one).
- Fleet media outlive that person. Device media are marked by their storage key
  (`o/<owner>/device/<id>`); erasing the owner re-encrypts them for the next owner or manager
  (`transfer`, called by `cleanup.erasure_hook`) unless the organisation is wholly theirs.
- Idempotent. The media id is a UUIDv5 of (device, the device's media id, SHA-256 of the
  bytes): a resend of the same file (a lost 0x8800) finds the row and is acknowledged again;
  two connections racing meet on the primary key. A different file reusing the device's media
  id (a counter that restarted) is a new recording.
- Position. The 0x0801 location block is kept as a one-point track (offset 0) with
  `source_format` "jt808"; the analyzer keeps it when the file has no track of its own, and it
  sets `start_time`, so the photo shows on the map and in period filters.
- Channel. JT/T 808 numbers cameras (1, 2, ...); what each number is depends on the product,
  so the device attribute `media_channels` (e.g. {"1": "front", "2": "cabin"}) names them;
  unnamed channels are `unknown`.
- Bounds. At most `MAX_DEVICE_MEDIA` bytes (also bounded by the largest file allowed and the
  owner's quota; over quota is not acknowledged, so the device keeps the file until there is
  room). Audio (JT/T 808 type 1) is stored too, never lost, though the analyzer, which reads
  pictures, marks it `failed`.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.accounts.models import Membership
from camtel.accounts.roles import Role
from camtel.db.engine import Database
from camtel.devices.models import Device
from camtel.errors import CamtelError
from camtel.media import crypto, service
from camtel.media.models import CHANNELS, Media, MediaTrack
from camtel.media.service import MediaLibrary, TooLarge
from camtel.messages import MediaChunk
from camtel.privacy.tracking import may_collect_video

if TYPE_CHECKING:
    from datetime import datetime

    from camtel.devices.identity import DeviceRef

log = logging.getLogger(__name__)

#: The largest photo or clip taken from a device (the JT/T 808 decoder bounds reassembly lower).
MAX_DEVICE_MEDIA = 16 * 1024 * 1024

#: Namespace of device media ids (UUIDv5 of device, device media id and content hash).
NAMESPACE = uuid.UUID("6d0b8a4e-5c1f-4f0e-9a55-3c3e8d7f0801")

#: Storage keys of device media hold this part: how erasure tells fleet media from uploads.
DEVICE_MARK = "/device/"

#: Who may own device media, in order of preference.
OWNER_ROLES = (Role.OWNER, Role.MANAGER)

#: JT/T 808 formats: content type and file name suffix.
FORMATS = {
    "jpeg": ("image/jpeg", "jpg"),
    "tif": ("image/tiff", "tif"),
    "mp3": ("audio/mpeg", "mp3"),
    "wav": ("audio/wav", "wav"),
    "wmv": ("video/x-ms-wmv", "wmv"),
    "mp4": ("video/mp4", "mp4"),
}


class NoOwner(CamtelError):
    status, type, title = 409, "no-owner", "The device's organisation has no owner"


class DeviceGone(CamtelError):
    status, type, title = 404, "not-found", "The device no longer exists"


def media_id_for(device_id: uuid.UUID, device_media_id: int, sha256: str) -> uuid.UUID:
    """The library id of a device's file: the same file from the same device, the same id."""
    return uuid.uuid5(NAMESPACE, f"{device_id}:{device_media_id}:{sha256}")


def device_object_key(owner_id: uuid.UUID, media_id: uuid.UUID) -> str:
    return service.object_key(owner_id, f"device/{media_id}")


def is_device_media(media: Media) -> bool:
    return DEVICE_MARK in media.storage_key


def channel_name(attributes: dict[str, Any], channel: int) -> str:
    """front/rear/cabin from the device's `media_channels` attribute, else unknown."""
    names = attributes.get("media_channels")
    name = names.get(str(channel)) if isinstance(names, dict) else None
    return name if name in CHANNELS else "unknown"


def library_kind(kind: str) -> str:
    """The library knows photos and videos; audio and unknown types are kept as `video`."""
    return "photo" if kind == "photo" else "video"


async def fleet_owner(
    db: AsyncSession, organization_id: uuid.UUID, *, excluding: uuid.UUID | None = None
) -> uuid.UUID | None:
    """The person who owns an organisation's device media: its oldest owner, else its oldest
    manager (`excluding` someone being erased); None when there is neither."""
    rank = case(
        {role.value: index for index, role in enumerate(OWNER_ROLES)}, value=Membership.role
    )
    query = (
        select(Membership.user_id)
        .where(
            Membership.organization_id == organization_id,
            Membership.role.in_([role.value for role in OWNER_ROLES]),
        )
        .order_by(rank, Membership.created_at, Membership.user_id)
        .limit(1)
    )
    if excluding is not None:
        query = query.where(Membership.user_id != excluding)
    found: uuid.UUID | None = await db.scalar(query)
    return found


async def _once(data: bytes) -> Any:
    yield data


def _track_point(chunk: MediaChunk) -> list[Any] | None:
    fix = chunk.position
    if fix is None or not fix.valid:
        return None
    return [
        0.0,
        fix.time.isoformat(),
        fix.latitude,
        fix.longitude,
        fix.altitude,
        fix.speed_kmh,
        fix.course,
    ]


async def store(
    database: Database, lib: MediaLibrary, *, device: DeviceRef, chunk: MediaChunk, now: datetime
) -> tuple[Media, bool]:
    """Store one device file and commit its row (`processing`); (media, made now). A file
    already stored is returned as it is. Raises when it cannot be stored."""
    data = chunk.data
    limit = min(MAX_DEVICE_MEDIA, lib.limits.max_file_bytes)
    if len(data) > limit:
        raise TooLarge(f"the largest device file accepted is {limit} bytes")
    sha = hashlib.sha256(data).hexdigest()
    media_id = media_id_for(device.id, chunk.media_id, sha)
    async with database.session() as db:
        existing = await db.get(Media, media_id)
        if existing is not None:
            return existing, False
        row = await db.get(Device, device.id)
        if row is None:
            raise DeviceGone("the device was deleted")
        owner = await fleet_owner(db, row.organization_id)
        if owner is None:
            raise NoOwner("the organisation has no owner or manager to keep its device media")
        await service.room(db, lib, owner, wanted=len(data))
        data_key = await service.ensure_key(db, lib, owner)
        content_type, suffix = FORMATS.get(chunk.format, ("application/octet-stream", "bin"))
        key = device_object_key(owner, media_id) + "-" + uuid.uuid4().hex[:8]
        size, _sha = await service.put_object(
            lib,
            data_key=data_key,
            key=key,
            object_id=media_id.bytes,
            chunks=_once(data),
            limit=limit,
        )
        try:
            point = _track_point(chunk)
            media = Media(
                id=media_id,
                organization_id=row.organization_id,
                owner_id=owner,
                device_id=row.id,
                channel=channel_name(device.attributes, chunk.channel),
                kind=library_kind(chunk.kind),
                category="event" if chunk.event else "normal",
                content_type=content_type,
                filename=f"{chunk.protocol}-{chunk.media_id}-ch{chunk.channel}.{suffix}",
                size=size,
                sha256=sha,
                storage_key=key,
                start_time=chunk.position.time if chunk.position and point else None,
                track_points=1 if point is not None else 0,
                created_at=now,
            )
            db.add(media)
            if point is not None:
                await db.flush()
                db.add(
                    MediaTrack(
                        media_id=media_id,
                        source_format=chunk.protocol,
                        points=[point],
                        gsensor={},
                        warnings=[],
                    )
                )
            await db.commit()
        except IntegrityError:
            # The same file from another connection won the race: it is stored.
            await db.rollback()
            await lib.store.delete(key)
            raced = await db.get(Media, media_id)
            if raced is None:
                raise
            return raced, False
        except BaseException:
            await lib.store.delete(key)
            raise
    lib.submit(media_id)
    return media, True


async def _may_collect(database: Database, device: DeviceRef) -> bool:
    """P20: video of a minor (the device's driver, or the one person it belongs to) only with
    their guardian's consent."""
    async with database.session() as db:
        row = await db.get(Device, device.id)
        return row is not None and await may_collect_video(db, row)


def handler(
    database: Database, library: Callable[[], MediaLibrary], clock: Callable[[], datetime]
) -> Callable[[DeviceRef, MediaChunk], Awaitable[None]]:
    """`Sink.media_handler` for this process: stores each file in the media library (asked
    for when the first file comes: a process without device media never opens the store), then
    queues it for analysis."""

    async def handle(device: DeviceRef, chunk: MediaChunk) -> None:
        if not await _may_collect(database, device):
            log.info("device media not collected (no consent)", extra={"kind": chunk.kind})
            return  # acknowledged, never stored: a minor's camera without guardian consent
        media, made = await store(database, library(), device=device, chunk=chunk, now=clock())
        log.info(
            "device media %s",
            "stored" if made else "already stored",
            extra={"media_id": str(media.id), "kind": media.kind, "size": media.size},
        )

    return handle


async def _copy(
    lib: MediaLibrary,
    *,
    old_key: bytes,
    new_key: bytes,
    source: str,
    target: str,
    object_id: bytes,
    size: int,
) -> None:
    chunks = service.read_object(
        lib, data_key=old_key, key=source, object_id=object_id, start=0, end=size, total=size
    )
    await service.put_object(
        lib, data_key=new_key, key=target, object_id=object_id, chunks=chunks, limit=size
    )


async def transfer(
    db: AsyncSession, lib: MediaLibrary, *, user_id: uuid.UUID, erased_orgs: set[uuid.UUID]
) -> int:
    """Before a person is erased: the device media they own in organisations that stay (not
    in `erased_orgs`) go to the next owner or manager, re-encrypted with that person's key.
    Media with nobody to take them (or already unreadable) stay theirs, and go with them.
    Returns how many moved. Idempotent: moved media are no longer theirs."""
    rows = list(
        await db.scalars(
            select(Media).where(
                Media.owner_id == user_id,
                Media.device_id.is_not(None),
                Media.storage_key.contains(DEVICE_MARK),
            )
        )
    )
    rows = [m for m in rows if m.organization_id not in erased_orgs and is_device_media(m)]
    if not rows:
        return 0
    try:
        old_key = await lib.keys.data_key(db, user_id)
    except crypto.KeyMissing:
        return 0  # already unreadable: nothing to save
    heirs: dict[uuid.UUID, uuid.UUID | None] = {}
    moved = 0
    for media in rows:
        org = media.organization_id
        if org not in heirs:
            heirs[org] = await fleet_owner(db, org, excluding=user_id)
        heir = heirs[org]
        if heir is None:
            continue
        new_key = await lib.keys.data_key(db, heir, create=True)
        target = device_object_key(heir, media.id) + "-" + uuid.uuid4().hex[:8]
        thumb = service.object_key(heir, f"{media.id}.thumb") if media.thumbnail_key else None
        try:
            await _copy(
                lib,
                old_key=old_key,
                new_key=new_key,
                source=media.storage_key,
                target=target,
                object_id=media.id.bytes,
                size=media.size,
            )
            if media.thumbnail_key and thumb:
                await _copy_thumbnail(lib, old_key, new_key, media.thumbnail_key, thumb, media.id)
        except Exception:
            await lib.store.delete(target)
            if thumb:
                await lib.store.delete(thumb)
            log.warning("device media could not be moved before erasure; it is erased")
            continue
        old_objects = [media.storage_key, media.thumbnail_key]
        media.owner_id, media.storage_key, media.thumbnail_key = heir, target, thumb
        await db.flush()
        for key in old_objects:
            if key:
                await lib.store.delete(key)
        moved += 1
    return moved


async def _copy_thumbnail(
    lib: MediaLibrary,
    old_key: bytes,
    new_key: bytes,
    source: str,
    target: str,
    media_id: uuid.UUID,
) -> None:
    size = crypto.plain_size(await lib.store.size(source))
    await _copy(
        lib,
        old_key=old_key,
        new_key=new_key,
        source=source,
        target=target,
        object_id=service.thumbnail_object_id(media_id),
        size=size,
    )
