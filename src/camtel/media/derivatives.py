"""Copies of recordings made in the background: the redacted copy a redacted share link
serves, and the browser-playable copy of a recording whose codecs browsers cannot decode.

Each copy is made once per recording, by a background worker (never while a request waits),
and kept encrypted with the owner's data key like the original (so crypto-shredding reaches it
too); it goes with the recording. A redacted link serves only the redacted copy: while it is
being made the link says so, and when making it failed the link shows an error. Nothing here
ever falls back to the original.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import secrets
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.db import claims
from camtel.media import service
from camtel.media.models import Media
from camtel.media.service import MediaLibrary

log = logging.getLogger(__name__)

CONTENT_TYPES = {"video": "video/mp4", "photo": "image/jpeg"}
SUFFIXES = {"video": ".mp4", "photo": ".jpg"}
READ_CHUNK = 1024 * 1024


def _redact(src: Path, dst: Path, kind: str, progress: Any) -> dict[str, Any]:
    """Run the redactor (in a thread): its report, or RedactionError."""
    from camtel.media.redact import redact_file

    return summary(redact_file(src, dst, kind, progress=progress))


def _transcode(src: Path, dst: Path, kind: str, progress: Any) -> dict[str, Any]:
    """Write the browser-playable copy (in a thread): its report, or TranscodeError."""
    from camtel.media.transcode import transcode_file

    return summary(transcode_file(src, dst, kind, progress=progress))


def _expected(exc: BaseException) -> bool:
    """A failure the input explains (unreadable, truncated), not a bug worth a traceback."""
    from camtel.media.redact import RedactionError
    from camtel.media.transcode import TranscodeError

    return isinstance(exc, RedactionError | TranscodeError)


@dataclasses.dataclass(frozen=True, slots=True)
class Copy:
    """One kind of copy, and the columns of `Media` that hold its state (None, `pending`,
    `ready`, `failed`), object key, size and info (content_type, sha256, size, reason,
    finished_at and the maker's report)."""

    name: str
    state: str
    key: str
    size: str
    info: str
    #: Appended to the recording's id to make the copy's encryption object id.
    tag: bytes
    make: Callable[[Path, Path, str, Any], dict[str, Any]]


REDACTED = Copy(
    name="redacted",
    state="redaction",
    key="redacted_key",
    size="redacted_size",
    info="redaction_info",
    tag=b"redacted",
    make=_redact,
)
PLAYABLE = Copy(
    name="playable",
    state="playable",
    key="playable_key",
    size="playable_size",
    info="playable_info",
    tag=b"playable",
    make=_transcode,
)
COPIES = (REDACTED, PLAYABLE)


def work(copy: Copy) -> claims.Work:
    """Making a copy as claimable work: the recording's copy `pending`, leased in
    `<state>_claimed_by` and `<state>_claimed_until`."""
    state = getattr(Media, copy.state)
    return claims.Work(
        name=f"{copy.name} copy",
        table=cast(Table, Media.__table__),
        wanted=lambda: state == "pending",
        by=f"{copy.state}_claimed_by",
        until=f"{copy.state}_claimed_until",
    )


def object_id(copy: Copy, media_id: uuid.UUID) -> bytes:
    """The id a copy's object is encrypted under (never the original's)."""
    return media_id.bytes + copy.tag


# Pure decisions


def wants_copy(state: str | None) -> bool:
    """Whether asking for a copy should (re)start making it: never asked, or the last attempt
    failed (asking again is a retry). A copy pending or ready is left alone."""
    return state in (None, "failed")


def playable_state(media: Media) -> str:
    """What the player should play: `original` (browsers play it, or it is a photo),
    `pending` (being analysed, or its playable copy is being made), `ready` (play the copy)
    or `failed` (no copy could be made: only the original, which browsers may not play)."""
    if media.playable:
        return media.playable
    return "pending" if media.status == "processing" else "original"


def summary(report: Any) -> dict[str, Any]:
    """The JSON-safe numbers of a maker's report (counts, size, wall time)."""
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


def request(media: Media, copy: Copy = REDACTED) -> bool:
    """Mark a recording's copy as wanted; True when the worker must be told (after the
    caller commits)."""
    if not wants_copy(getattr(media, copy.state)):
        return False
    setattr(media, copy.state, "pending")
    setattr(media, copy.info, {})
    return True


def submit(lib: MediaLibrary, media_id: uuid.UUID, copy: Copy = REDACTED) -> None:
    """Hand a recording to this process's worker for this copy, when it runs one; otherwise
    a worker's next poll finds it pending."""
    maker = lib.redactor if copy is REDACTED else lib.transcoder
    if maker is not None:
        maker.submit(media_id)


async def drop(db: AsyncSession, lib: MediaLibrary, media: Media) -> None:
    """Forget a recording's copies (their objects too), before it changes hands: they are
    under the old owner's key. The next redacted link remakes the redacted copy; a needed
    playable copy is asked for again at once."""
    for copy in COPIES:
        key = getattr(media, copy.key)
        if key:
            await lib.store.delete(key)
        needed = copy is PLAYABLE and getattr(media, copy.state) is not None
        setattr(media, copy.state, "pending" if needed else None)
        setattr(media, copy.key, None)
        setattr(media, copy.size, 0)
        setattr(media, copy.info, {})
    await db.flush()


# The worker


def _failure(exc: BaseException, copy: Copy) -> str:
    text = (str(exc).strip() or type(exc).__name__)[:300]
    return text if _expected(exc) else f"{copy.name} copy error: {text}"


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as file:
        while chunk := await asyncio.to_thread(file.read, READ_CHUNK):
            yield chunk


class CopyMaker:
    """Makes the copies of one kind asked for (state `pending`), one at a time, in a thread.

    `submit(media_id)` queues one (asked for in this process: at once); `run()` works until
    `stop()`, and every `job_poll_s` also claims copies pending for any worker: asked for on
    another process (an API node makes none), or left by a crash or a dead worker whose lease
    ran out. Each copy is claimed before it is made (camtel.db.claims)."""

    copy: Copy = REDACTED

    def __init__(self, bench: service.Workbench) -> None:
        self.bench, self.lib = bench, bench.lib
        self.work_dir = bench.work_dir
        self._queue: asyncio.Queue[uuid.UUID | None] = asyncio.Queue()
        self._queued: set[uuid.UUID] = set()
        self._working: set[uuid.UUID] = set()
        self.claims = claims.Claims(bench.database, work(self.copy), clock=bench.clock)
        #: How far the copy in hand is, 0..1, for pages that say "being prepared".
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
        """Wait until every queued copy, and every one pending unclaimed in the database, is
        done (tests, demos)."""
        async with asyncio.timeout(timeout_s):
            await self.claims.settled(self._queue)

    def _room(self) -> int:
        return 1 - len(self._working) - self._queue.qsize()

    async def run(self) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.work_dir, 0o700)
        poll = asyncio.create_task(
            self.claims.keep(every_s=self.bench.poll_s, room=self._room, found=self.submit),
            name=f"{self.copy.name}-copy-claims",
        )
        try:
            await self._consume()
        finally:
            poll.cancel()  # and wait for it: see Analyzer.run
            await asyncio.gather(poll, return_exceptions=True)

    async def _consume(self) -> None:
        while True:
            media_id = await self._queue.get()
            try:
                if media_id is None:
                    return
                self._queued.discard(media_id)
                await self.make(media_id)
            except Exception:
                log.exception("making a copy of a recording failed unexpectedly")
            finally:
                if media_id is not None:
                    self.progress.pop(media_id, None)
                self._queue.task_done()
                self.claims.wake()  # room for the next

    async def make(self, media_id: uuid.UUID) -> None:
        """Claim and make one recording's copy; every failure ends as `failed` with a reason.
        A copy another worker holds is left to it."""
        await self.claims.work_on(media_id, self._make, working=self._working)

    async def _make(self, media_id: uuid.UUID) -> None:
        copy = self.copy
        async with self.bench.database.session() as db:
            media = await db.get(Media, media_id)
            if media is None or getattr(media, copy.state) != "pending":
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
        dst = self.work_dir / f"{stem}.{copy.name}{SUFFIXES[kind]}"
        stored: str | None = None
        try:
            await service.decrypt_to_file(
                self.lib, src, data_key=data_key, key=original, object_id=media_id.bytes, size=size
            )
            self.progress[media_id] = 0.0
            report = await asyncio.to_thread(
                copy.make, src, dst, kind, lambda done: self.progress.__setitem__(media_id, done)
            )
            stored = service.object_key(owner, f"{media_id}.{copy.name}-{secrets.token_hex(4)}")
            plain, sha256 = await service.put_object(
                self.lib,
                data_key=data_key,
                key=stored,
                object_id=object_id(copy, media_id),
                chunks=_file_chunks(dst),
                limit=max(self.lib.limits.max_file_bytes, 4 * size),
            )
            info = {"content_type": CONTENT_TYPES[kind], "sha256": sha256, "size": plain}
            info["report"] = report
        except Exception as exc:
            if not _expected(exc):
                log.exception("%s copy error", copy.name)
            stored, info = None, {"reason": _failure(exc, copy)}
        finally:
            for path in (src, dst):
                await asyncio.to_thread(path.unlink, missing_ok=True)
        await self._finish(media_id, owner, stored, info)

    async def _finish(
        self, media_id: uuid.UUID, owner: uuid.UUID, stored: str | None, info: dict[str, Any]
    ) -> None:
        """Record the outcome, unless the recording went away, was dropped or changed hands
        meanwhile: then the new object is stale and goes."""
        copy = self.copy
        stale: list[str] = []
        async with self.bench.database.session() as db:
            media = await db.get(Media, media_id)
            state = getattr(media, copy.state) if media is not None else None
            taken_over = media is not None and not self.claims.holds(
                getattr(media, self.claims.work.by)
            )
            if media is None or taken_over or state != "pending" or media.owner_id != owner:
                if stored:
                    await self.lib.store.delete(stored)
                if taken_over:
                    log.warning("%s copy taken over meanwhile", copy.name)
                elif media is not None and state == "pending":
                    self.submit(media_id)  # moved to another owner: make it under their key
                return
            old = getattr(media, copy.key)
            if old and old != stored:
                stale.append(old)
            info["finished_at"] = self.bench.clock().isoformat()
            if stored is None:
                setattr(media, copy.state, "failed")
                setattr(media, copy.key, None)
                setattr(media, copy.size, 0)
                log.info("%s copy failed", copy.name, extra={"media_id": str(media_id)})
            else:
                setattr(media, copy.state, "ready")
                setattr(media, copy.key, stored)
                setattr(media, copy.size, int(info["size"]))
            setattr(media, copy.info, info)
        for key in stale:
            await self.lib.store.delete(key)


class Redactor(CopyMaker):
    """Makes the redacted copies redacted share links (and their preview) ask for."""

    copy = REDACTED


class Transcoder(CopyMaker):
    """Makes the browser-playable copies the analysis asks for."""

    copy = PLAYABLE
