"""Retention and erasure of recordings: rows, objects and keys go together.

The generic retention sweeper deletes rows with SQL; recordings also have objects in the store,
so they are swept here, through the same delete path as a person pressing "delete".
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.db.engine import Database
from camtel.media import derivatives, device_media, service, uploads
from camtel.media.models import Media
from camtel.media.service import MediaLibrary
from camtel.privacy import holds, retention
from camtel.privacy.retention import MEDIA_TARGETS

log = logging.getLogger(__name__)

#: How long a recording is kept, by category, unless its organisation set its own days
#: (`camtel.privacy.retention.MEDIA_TARGETS`) or a legal hold of its organisation covers its
#: device or owner (`camtel.privacy.holds`).
KEEP_DAYS = {"normal": 30, "event": 365, "locked": 365}


def keep_days(category: str, org_days: dict[str, int] | None = None) -> int:
    """Days a recording of this category is kept: its organisation's choice for the
    category's target, else camtel's default. Pure."""
    for target, categories in MEDIA_TARGETS.items():
        if category in categories and org_days and target in org_days:
            return org_days[target]
    return KEEP_DAYS.get(category, KEEP_DAYS["normal"])


def expires_at(
    category: str, created_at: datetime, org_days: dict[str, int] | None = None
) -> datetime:
    """When a recording of this category, made at `created_at`, is due for deletion. Pure."""
    return created_at + timedelta(days=keep_days(category, org_days))


def _due(now: datetime, per_target: dict[str, dict[uuid.UUID, int]]) -> ColumnElement[bool]:
    """Recordings past their retention: per category, with each organisation's own days."""
    clauses = []
    for category in KEEP_DAYS:
        target = next(t for t, cats in MEDIA_TARGETS.items() if category in cats)
        per_org = per_target.get(target, {})
        in_category = Media.category == category
        for org, days in per_org.items():
            clauses.append(
                in_category
                & (Media.organization_id == org)
                & (Media.created_at <= now - timedelta(days=days))
            )
        default = in_category & (Media.created_at <= now - timedelta(days=keep_days(category)))
        if per_org:
            default = default & Media.organization_id.not_in(set(per_org))
        clauses.append(default)
    return or_(*clauses)


#: Recordings deleted in one transaction; a sweep that deletes this many runs again.
BATCH = 500


async def sweep(
    database: Database, lib: MediaLibrary, *, now: datetime, batch: int = BATCH
) -> int:
    """Delete up to `batch` recordings past retention (never those a legal hold keeps: of
    its device, or of its person in its organisation), unfinished uploads past their
    lifetime and the temporary files of writes a killed process left; returns how many
    recordings went."""
    removed = 0
    async with database.session() as db:
        held = holds.media_held(Media, await holds.active(db))
        query = select(Media).where(_due(now, await retention.overrides(db)), not_(held))
        for media in await db.scalars(query.limit(batch)):
            await service.delete_media(db, lib, media)
            removed += 1
        for upload in await uploads.expired_uploads(db, now=now):
            await uploads.terminate(db, lib, upload=upload)
    # What uploads cut short by a killed process left behind, once no writer can be left.
    unfinished = await lib.store.sweep_unfinished(
        before=now - timedelta(seconds=lib.limits.upload_ttl_s)
    )
    if unfinished:
        log.info("unfinished media writes removed", extra={"removed": unfinished})
    if removed:
        log.info("media retention sweep", extra={"removed": removed})
    return removed


def erasure_hook(lib: MediaLibrary) -> Callable[[AsyncSession, Any], Awaitable[dict[str, int]]]:
    """An erasure hook (`Services.erasure_hooks`): the person's recordings (uploaded by
    them, or of the devices and organisations wholly theirs) and objects go, then their key.

    Photos and clips a fleet's devices sent (camtel.media.device_media) are kept in the name
    of the person's oldest owner membership only for convenience: when the organisation
    outlives the person, they first move to its next owner (or manager), re-encrypted."""

    async def erase(db: AsyncSession, scope: Any) -> dict[str, int]:
        count = 0
        orgs: set[uuid.UUID] = set(getattr(scope, "own_orgs", set()))
        devices: set[uuid.UUID] = set(getattr(scope, "own_devices", set()))
        # Redacted and playable copies are under the person's key, which is about to be
        # destroyed: drop them (a redacted link to a recording that stays remakes its copy
        # when opened; a playable copy is asked for again under the new owner's key).
        for media in list(await db.scalars(_with_copy(scope.user_id))):
            await derivatives.drop(db, lib, media)
        moved = await device_media.transfer(db, lib, user_id=scope.user_id, erased_orgs=orgs)
        if moved:
            log.info("device media moved to the organisations' next owner", extra={"moved": moved})
        conditions = [Media.owner_id == scope.user_id]
        if orgs:
            conditions.append(Media.organization_id.in_(orgs))
        if devices:
            conditions.append(Media.device_id.in_(devices))
        for media in list(await db.scalars(select(Media).where(or_(*conditions)))):
            await service.delete_media(db, lib, media)
            count += 1
        count += await service.erase_owner(db, lib, scope.user_id)
        return {"media": count}

    return erase


def _with_copy(owner_id: uuid.UUID) -> Any:
    return select(Media).where(
        Media.owner_id == owner_id,
        or_(Media.redacted_key.is_not(None), Media.playable_key.is_not(None)),
    )


def export_hook(lib: MediaLibrary) -> Callable[[AsyncSession, Any, Any], Awaitable[dict[str, int]]]:
    """An export hook (`Services.export_hooks`): the person's recordings, decrypted,
    written into their export ZIP one chunk at a time (never whole in memory). Only the
    originals: the redacted and playable copies are made from them and add nothing."""

    async def export(db: AsyncSession, scope: Any, archive: Any) -> dict[str, int]:
        conditions = [Media.owner_id == scope.user_id]
        if scope.own_devices:
            conditions.append(Media.device_id.in_(scope.own_devices))
        files: dict[str, int] = {}
        for media in list(await db.scalars(select(Media).where(or_(*conditions)))):
            if media.status == "failed" and not media.size:
                continue
            try:
                data_key = await service.data_key_for(db, lib, media.owner_id)
            except service.Unreadable:
                continue
            name = f"media/{media.id}-{service.clean_filename(media.filename) or 'recording'}"
            with archive.open(name, "w", force_zip64=True) as out:
                async for chunk in service.read_object(
                    lib,
                    data_key=data_key,
                    key=media.storage_key,
                    object_id=media.id.bytes,
                    start=0,
                    end=media.size,
                    total=media.size,
                ):
                    out.write(chunk)
            files[name] = 1
        return files

    return export
