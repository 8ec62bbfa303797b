"""Erasure (GDPR Art. 17): driven by the registry, resumable, idempotent, leaving a record
that an erasure happened but not whose."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.db.engine import Database
from camtel.privacy.registry import REGISTRY, Erasure
from camtel.privacy.rights_models import PrivacyRequest
from camtel.privacy.scope import Scope, scope_of
from camtel.privacy.tables import table as registered

log = logging.getLogger(__name__)

#: A month, the time the law gives to answer a request.
DUE_AFTER = timedelta(days=30)

#: Work other parts do before rows go (delete media objects, destroy keys):
#: async (db, scope) -> dict of counts. Each must be idempotent. The composition root
#: puts them in `Services.erasure_hooks`.
Hook = Callable[..., Any]

#: Order of deletion: what hangs off devices first, then devices, organisations, the person.
_ORDER = {"device": 0, "org": 1, "user": 2, "self": 3}


def plan(scope: Scope) -> list[tuple[str, str, set[uuid.UUID]]]:
    """The deletions an erasure makes, in order: (table, column, ids). Pure."""
    steps = []
    for name, entry in REGISTRY.items():
        link = entry.link
        if link.kind == "none" or entry.erasure is Erasure.ANONYMISE:
            continue
        ids = scope.ids_for(link, for_export=False)
        if ids:
            steps.append((name, link.column, ids))
    # Organisations last among org rows: their own id is in the org column.
    return sorted(steps, key=lambda s: (_ORDER[REGISTRY[s[0]].link.kind], s[0] == "organizations"))


async def request_erasure(
    db: AsyncSession, *, user_id: uuid.UUID, now: datetime, actor: str = "self"
) -> PrivacyRequest:
    """Record an erasure request (or return the one already open)."""
    open_request = await db.scalar(
        select(PrivacyRequest).where(
            PrivacyRequest.kind == "erasure",
            PrivacyRequest.user_id == user_id,
            PrivacyRequest.status != "done",
        )
    )
    if open_request is not None:
        return open_request
    row = PrivacyRequest(
        kind="erasure",
        user_id=user_id,
        actor=actor,
        status="received",
        due_at=now + DUE_AFTER,
        created_at=now,
    )
    db.add(row)
    await db.flush()
    return row


async def execute(
    database: Database, *, request_id: uuid.UUID, now: datetime, hooks: Sequence[Hook] = ()
) -> dict[str, int]:
    """Carry out an erasure; safe to run again after a crash at any point."""
    async with database.session() as db:
        request = await db.get(PrivacyRequest, request_id)
        if request is None or request.status == "done" or request.user_id is None:
            return {}
        request.status = "in_progress"
        user_id = request.user_id
    async with database.session() as db:
        scope = await scope_of(db, user_id)
        counts: dict[str, int] = {}
        for hook in hooks:
            for key, value in (await hook(db, scope)).items():
                counts[key] = counts.get(key, 0) + value
        for name, column, ids in plan(scope):
            table = registered(name)
            result = await db.execute(delete(table).where(table.c[column].in_(ids)))
            counts[name] = counts.get(name, 0) + (cast(CursorResult[Any], result).rowcount or 0)
        request = await db.get(PrivacyRequest, request_id)
        assert request is not None
        request.user_id = None
        request.status = "done"
        request.completed_at = now
        request.summary = {"deleted": counts}
    if database.dialect == "sqlite":
        # Freed pages are zeroed (secure_delete); fold the WAL back so no old page lingers.
        async with database.engine.connect() as connection:
            await connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    log.info("erasure completed", extra={"request": str(request_id)})
    return counts


async def resume(database: Database, *, now: datetime, hooks: Sequence[Hook] = ()) -> int:
    """Finish erasures a crash interrupted (called at start)."""
    async with database.session() as db:
        pending = list(
            await db.scalars(
                select(PrivacyRequest.id).where(
                    PrivacyRequest.kind == "erasure",
                    PrivacyRequest.status != "done",
                    PrivacyRequest.user_id.is_not(None),
                )
            )
        )
    for request_id in pending:
        await execute(database, request_id=request_id, now=now, hooks=hooks)
    return len(pending)
