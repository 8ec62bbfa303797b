"""A person's own sessions as the privacy centre shows them: which are open, from which client
(read from the access log), and ending one of them.

A session row holds no client description of its own; the sign-in that opened it wrote one
to the access log at the same moment (`camtel.api.auth._sign_in` uses one clock reading for
both), so the two are matched on person, channel and time. Once the sign-in has left the
log (30 days) the client is unknown. Tokens are never shown: only their hash is stored.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.accounts.models import AuthSession
from camtel.privacy.models import AccessLogEntry

#: The access log's kind for a sign-in that succeeded (camtel.privacy.access_log.SIGN_IN).
_SIGN_IN = "sign_in"


@dataclass(frozen=True, slots=True)
class OpenSession:
    """One open session as its person sees it."""

    id: uuid.UUID
    kind: str  # "web" (a browser) or "api" (a bearer token)
    created_at: datetime
    last_seen_at: datetime | None
    expires_at: datetime
    client: str  # "Firefox on Android"; "" when unknown


def client_of(session: tuple[str, datetime], sign_ins: dict[tuple[str, datetime], str]) -> str:
    """The client summary of the sign-in that opened a (kind, created_at) session. Pure."""
    return sign_ins.get(session, "")


async def open_sessions(
    db: AsyncSession, *, user_id: uuid.UUID, now: datetime
) -> list[OpenSession]:
    """The person's sessions that have not expired, most recently used first."""
    rows = list(
        await db.scalars(
            select(AuthSession).where(AuthSession.user_id == user_id, AuthSession.expires_at > now)
        )
    )
    if not rows:
        return []
    found = await db.execute(
        select(AccessLogEntry.channel, AccessLogEntry.time, AccessLogEntry.client).where(
            AccessLogEntry.user_id == user_id,
            AccessLogEntry.kind == _SIGN_IN,
            AccessLogEntry.time.in_({row.created_at for row in rows}),
        )
    )
    sign_ins = {(channel, time): client for channel, time, client in found.all()}
    sessions = [
        OpenSession(
            id=row.id,
            kind=row.kind,
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            expires_at=row.expires_at,
            client=client_of((row.kind, row.created_at), sign_ins),
        )
        for row in rows
    ]
    return sorted(
        sessions, key=lambda s: (s.last_seen_at or s.created_at, s.created_at), reverse=True
    )


async def end_session(db: AsyncSession, *, user_id: uuid.UUID, session_id: uuid.UUID) -> bool:
    """End one of the person's sessions; False when they have no such session."""
    result = await db.execute(
        delete(AuthSession).where(AuthSession.id == session_id, AuthSession.user_id == user_id)
    )
    return bool(cast(CursorResult[Any], result).rowcount)
