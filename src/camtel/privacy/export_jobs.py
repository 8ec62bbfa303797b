"""Large exports as a job: the ZIP is built in the background into a private file that the
person downloads from a link; the file goes after its first download or a day.

A job is the export request while it is `processing`. Whoever builds it claims it first
(camtel.db.claims): the process that received the request starts at once, and a worker running
`work()` takes over one whose builder died (its lease ran out). The file is written to this
process's data dir, so a takeover on another machine needs the exports folder shared.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.db import claims
from camtel.db.base import utcnow
from camtel.db.engine import Database
from camtel.devices.models import Position
from camtel.privacy.export import Hook, write_export
from camtel.privacy.rights_models import PrivacyRequest
from camtel.privacy.scope import Scope, scope_of

log = logging.getLogger(__name__)

#: More positions than this and the export becomes a job (202 + Location) instead of a stream.
STREAM_LIMIT = 200_000
#: How long a finished export waits for its download.
KEEP = timedelta(days=1)
#: How often a running export writes how far it is (seconds).
PROGRESS_EVERY_S = 1.0

#: Building an export as claimable work: an export request `processing`.
EXPORT = claims.Work(
    name="export",
    table=cast(Table, PrivacyRequest.__table__),
    wanted=lambda: (PrivacyRequest.kind == "export") & (PrivacyRequest.status == "processing"),
)


def export_dir(data_dir: Path) -> Path:
    path = data_dir / "exports"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def export_file(data_dir: Path, request_id: uuid.UUID) -> Path:
    return export_dir(data_dir) / f"{request_id}.zip"


async def is_large(database: Database, user_id: uuid.UUID, limit: int | None = None) -> bool:
    """Whether the person's export is too big to build while the request waits."""
    async with database.session() as db:
        scope = await scope_of(db, user_id)
        devices = scope.own_devices | scope.driven_devices
        if not devices:
            return False
        count = await db.scalar(
            select(func.count()).select_from(Position).where(Position.device_id.in_(devices))
        )
    return (count or 0) > (STREAM_LIMIT if limit is None else limit)


async def run(
    database: Database,
    *,
    request_id: uuid.UUID,
    data_dir: Path,
    hooks: list[Hook],
    clock: Callable[[], datetime] | None = None,
) -> None:
    """Claim and build the ZIP of a queued export request; the request says `done` or
    `failed`. One another process builds is left to it."""
    held = claims.Claims(database, EXPORT, clock=clock or utcnow)
    async with held.holding(request_id) as ours:
        if ours:
            await _build(
                database, request_id=request_id, data_dir=data_dir, hooks=hooks, clock=clock
            )


async def _build(
    database: Database,
    *,
    request_id: uuid.UUID,
    data_dir: Path,
    hooks: list[Hook],
    clock: Callable[[], datetime] | None,
) -> None:
    async with database.session() as db:
        request = await db.get(PrivacyRequest, request_id)
        if request is None or request.user_id is None:
            return
        user_id = request.user_id
    target = export_file(data_dir, request_id)
    partial = target.with_suffix(".part")
    last = time.monotonic()
    status: str
    summary: dict[str, Any]

    async def progress(done: int, total: int) -> None:
        # Written in a session of its own, at most once a second: the person's page polls it.
        nonlocal last
        if time.monotonic() - last < PROGRESS_EVERY_S:
            return
        last = time.monotonic()
        async with database.session() as db:
            row = await db.get(PrivacyRequest, request_id)
            if row is not None and row.status == "processing":
                row.summary = {"progress": {"done": done, "total": total}}

    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            async with database.session() as db:
                files = await write_export(
                    db, user_id=user_id, out=out, hooks=hooks, progress=progress
                )
        partial.replace(target)
        status, summary = "done", {"files": len(files), "records": sum(files.values())}
    except Exception as exc:
        log.exception("export %s failed", request_id)
        partial.unlink(missing_ok=True)
        status, summary = "failed", {"error": type(exc).__name__}
    async with database.session() as db:
        request = await db.get(PrivacyRequest, request_id)
        if request is not None:
            request.status, request.summary = status, summary
            request.completed_at = clock() if clock else datetime.now(request.created_at.tzinfo)


def state(status: str, *, file_exists: bool) -> str:
    """What a person is told about an export request: processing, ready (to download),
    failed, or expired (its file was swept, or it was streamed and never kept). Pure."""
    if status == "processing":
        return "processing"
    if status == "done":
        return "ready" if file_exists else "expired"
    return "failed"


def progress_of(summary: dict[str, Any] | None) -> float | None:
    """How far a running export is, 0 to 1, from its request's summary; None before the
    first report. Pure."""
    reported = (summary or {}).get("progress") or {}
    done, total = reported.get("done"), reported.get("total")
    if not isinstance(done, int) or not isinstance(total, int) or total <= 0:
        return None
    return max(0.0, min(1.0, done / total))


def start(database: Database, **kwargs: Any) -> asyncio.Task[None]:
    """Run an export job in the background of this process."""
    return asyncio.create_task(run(database, **kwargs), name="privacy-export")


async def work(
    database: Database,
    *,
    data_dir: Path,
    hooks: list[Hook],
    clock: Callable[[], datetime],
    every_s: float,
) -> None:
    """Until cancelled, on a worker: every `every_s`, build one export nobody holds (its
    builder died, or never started), one at a time."""
    polls = claims.Claims(database, EXPORT, clock=clock)
    running: set[asyncio.Task[None]] = set()

    def found(request_id: uuid.UUID) -> None:
        polls.forget(request_id)  # `run` holds and renews it from here
        task = start(database, request_id=request_id, data_dir=data_dir, hooks=hooks, clock=clock)
        running.add(task)
        task.add_done_callback(running.discard)
        task.add_done_callback(lambda _task: polls.wake())

    try:
        await polls.keep(every_s=every_s, room=lambda: 1 - len(running), found=found)
    finally:
        for task in running:
            task.cancel()


def sweep(data_dir: Path, now: datetime) -> int:
    """Delete finished exports older than a day (and leftovers of crashed ones)."""
    removed = 0
    for path in export_dir(data_dir).glob("*"):
        age = now.timestamp() - path.stat().st_mtime
        if age > KEEP.total_seconds():
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def erasure_hook(data_dir: Path) -> Hook:
    """An erasure hook: the person's finished or running export files go too."""

    async def erase(db: AsyncSession, scope: Scope) -> dict[str, int]:
        ids = list(
            await db.scalars(
                select(PrivacyRequest.id).where(
                    PrivacyRequest.kind == "export", PrivacyRequest.user_id == scope.user_id
                )
            )
        )
        removed = 0
        for request_id in ids:
            target = export_file(data_dir, request_id)
            for path in (target, target.with_suffix(".part")):
                if path.exists():
                    path.unlink()
                    removed += 1
        return {"export_files": removed}

    return erase
