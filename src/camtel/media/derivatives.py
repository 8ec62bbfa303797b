"""Redacted copies of recordings for share links: faces and plates blurred, no sound or metadata.

A copy is made once per recording, by a background worker, and kept encrypted with the owner's
data key like the original (so crypto-shredding reaches it too). A redacted link serves only
this copy: while it is being made the link says so, and when making it failed the link shows
an error. Nothing here ever falls back to the original.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import secrets
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.media import service
from camtel.media.models import Media
from camtel.media.service import MediaLibrary

if TYPE_CHECKING:
    from camtel.services import Services

log = logging.getLogger(__name__)

CONTENT_TYPES = {"video": "video/mp4", "photo": "image/jpeg"}
SUFFIXES = {"video": ".mp4", "photo": ".jpg"}
READ_CHUNK = 1024 * 1024


# Pure decisions


def wants_copy(state: str | None) -> bool:
    """Whether a new redacted link should (re)start making the copy: never asked, or the last
    attempt failed (a new link is a retry). A copy pending or ready is left alone."""
    return state in (None, "failed")


def summary(report: Any) -> dict[str, Any]:
    """The JSON-safe numbers of a redaction report (counts, size, wall time)."""
    if dataclasses.is_dataclass(report) and not isinstance(report, type):
        fields = dataclasses.asdict(report)
    else:
        fields = dict(getattr(report, "__dict__", {}))
    return {
        key: round(value, 3) if isinstance(value, float) else value
        for key, value in fields.items()
        if isinstance(value, str | int | float | bool)
    }


# Asking for a copy


def request(media: Media) -> bool:
    """Mark the recording's redacted copy as wanted; True when the worker must be told
    (after the caller commits)."""
    if not wants_copy(media.redaction):
        return False
    media.redaction = "pending"
    media.redaction_info = {}
    return True


def submit(lib: MediaLibrary, media_id: uuid.UUID) -> None:
    """Hand a recording to the running redactor; without one it waits for the next start."""
    if lib.redactor is not None:
        lib.redactor.submit(media_id)


async def drop(db: AsyncSession, lib: MediaLibrary, media: Media) -> None:
    """Forget a recording's redacted copy (its object too); the next redacted link remakes
    it. Used before a recording changes hands: the copy is under the old owner's key."""
    if media.redacted_key:
        await lib.store.delete(media.redacted_key)
    media.redaction, media.redacted_key, media.redacted_size = None, None, 0
    media.redaction_info = {}
    await db.flush()


# The worker


def _redact(src: Path, dst: Path, kind: str, progress: Any) -> dict[str, Any]:
    """Run the redactor (in a thread): its report, or RedactionError."""
    from camtel.media.redact import redact_file

    return summary(redact_file(src, dst, kind, progress=progress))


def _failure(exc: BaseException) -> str:
    text = (str(exc).strip() or type(exc).__name__)[:300]
    return text if _is_redaction_error(exc) else f"redaction error: {text}"


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as file:
        while chunk := await asyncio.to_thread(file.read, READ_CHUNK):
            yield chunk


class Redactor:
    """Makes the redacted copies asked for (`redaction == "pending"`), one at a time.

    `submit(media_id)` queues one; `run()` works until `stop()`, and first picks up whatever a
    previous run left pending (a crash, a restart)."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.lib = service.library(services)
        self.lib.redactor = self
        self.work_dir = services.settings.data_dir / "work"
        self._queue: asyncio.Queue[uuid.UUID | None] = asyncio.Queue()
        self._queued: set[uuid.UUID] = set()
        self._resumed = asyncio.Event()
        #: How far the copy in hand is, 0..1, for the "being prepared" page.
        self.progress: dict[uuid.UUID, float] = {}

    def submit(self, media_id: uuid.UUID) -> None:
        """Queue a recording (a repeat while queued is ignored)."""
        if media_id not in self._queued:
            self._queued.add(media_id)
            self._queue.put_nowait(media_id)

    def stop(self) -> None:
        """Finish the copy in hand and end `run()`."""
        self._queue.put_nowait(None)

    async def idle(self, timeout_s: float = 60.0) -> None:
        """Wait until what a previous run left and every queued copy are done (tests, demos)."""
        async with asyncio.timeout(timeout_s):
            await self._resumed.wait()
            await self._queue.join()

    async def run(self) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.work_dir, 0o700)
        async with self.services.database.session() as db:
            left = await db.scalars(
                select(Media.id).where(Media.redaction == "pending").order_by(Media.id)
            )
            for media_id in left:
                self.submit(media_id)
        self._resumed.set()
        while True:
            media_id = await self._queue.get()
            try:
                if media_id is None:
                    return
                self._queued.discard(media_id)
                await self.redact(media_id)
            except Exception:
                log.exception("redacting a recording failed unexpectedly")
            finally:
                if media_id is not None:
                    self.progress.pop(media_id, None)
                self._queue.task_done()

    async def redact(self, media_id: uuid.UUID) -> None:
        """Make one recording's redacted copy; every failure ends as `failed` with a reason."""
        async with self.services.database.session() as db:
            media = await db.get(Media, media_id)
            if media is None or media.redaction != "pending":
                return
            kind, owner, size = media.kind, media.owner_id, media.size
            original = media.storage_key
            try:
                data_key: bytes | None = await service.data_key_for(db, self.lib, owner)
            except service.Unreadable:
                data_key = None
        if data_key is None:
            await self._finish(media_id, owner, None, {"reason": "the recording is unreadable"})
            return
        stem = f"{media_id}-{secrets.token_hex(4)}"
        src = self.work_dir / f"{stem}.src"
        dst = self.work_dir / f"{stem}.redacted{SUFFIXES[kind]}"
        stored: str | None = None
        try:
            await service.decrypt_to_file(
                self.lib, src, data_key=data_key, key=original, object_id=media_id.bytes, size=size
            )
            self.progress[media_id] = 0.0
            report = await asyncio.to_thread(
                _redact, src, dst, kind, lambda done: self.progress.__setitem__(media_id, done)
            )
            stored = service.object_key(owner, f"{media_id}.redacted-{secrets.token_hex(4)}")
            plain, sha256 = await service.put_object(
                self.lib,
                data_key=data_key,
                key=stored,
                object_id=service.redacted_object_id(media_id),
                chunks=_file_chunks(dst),
                limit=max(self.lib.limits.max_file_bytes, 4 * size),
            )
            info = {"content_type": CONTENT_TYPES[kind], "sha256": sha256, "size": plain}
            info["report"] = report
        except Exception as exc:
            if not _is_redaction_error(exc):
                log.exception("redaction error")
            stored, info = None, {"reason": _failure(exc)}
        finally:
            for path in (src, dst):
                await asyncio.to_thread(path.unlink, missing_ok=True)
        await self._finish(media_id, owner, stored, info)

    async def _finish(
        self, media_id: uuid.UUID, owner: uuid.UUID, stored: str | None, info: dict[str, Any]
    ) -> None:
        """Record the outcome, unless the recording went away, was dropped or changed hands
        meanwhile: then the new object is stale and goes."""
        stale: list[str] = []
        async with self.services.database.session() as db:
            media = await db.get(Media, media_id)
            if media is None or media.redaction != "pending" or media.owner_id != owner:
                if stored:
                    await self.lib.store.delete(stored)
                if media is not None and media.redaction == "pending":
                    self.submit(media_id)  # moved to another owner: make it under their key
                return
            if media.redacted_key and media.redacted_key != stored:
                stale.append(media.redacted_key)
            info["finished_at"] = self.services.clock().isoformat()
            if stored is None:
                media.redaction, media.redacted_key, media.redacted_size = "failed", None, 0
                log.info("redacted copy failed", extra={"media_id": str(media_id)})
            else:
                media.redaction, media.redacted_key = "ready", stored
                media.redacted_size = int(info["size"])
            media.redaction_info = info
        for key in stale:
            await self.lib.store.delete(key)


def _is_redaction_error(exc: BaseException) -> bool:
    try:
        from camtel.media.redact import RedactionError
    except ImportError:
        return False
    return isinstance(exc, RedactionError)
