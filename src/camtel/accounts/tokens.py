"""Login sessions and bearer tokens: random, shown once, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.accounts.models import AuthSession, User

#: Only refresh `last_seen_at` this often, so that reads do not turn into writes.
_TOUCH_EVERY = timedelta(minutes=5)


def new_token() -> str:
    """A fresh secret token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """How a token is stored: its SHA-256, so a leaked table reveals no usable token."""
    return hashlib.sha256(token.encode()).hexdigest()


async def open_session(
    db: AsyncSession, *, user: User, kind: str, ttl: timedelta, now: datetime
) -> tuple[str, AuthSession]:
    """Start a session for a user; returns the token (shown once) and the stored row."""
    token = new_token()
    row = AuthSession(
        user_id=user.id,
        token_hash=token_hash(token),
        kind=kind,
        csrf_token=secrets.token_urlsafe(24) if kind == "web" else None,
        expires_at=now + ttl,
        last_seen_at=now,
        created_at=now,
    )
    db.add(row)
    await db.flush()
    return token, row


async def resolve(
    db: AsyncSession, *, token: str, now: datetime
) -> tuple[User, AuthSession] | None:
    """The user and session a token belongs to, or None when unknown or expired."""
    found = (
        await db.execute(
            select(User, AuthSession)
            .join(AuthSession, AuthSession.user_id == User.id)
            .where(AuthSession.token_hash == token_hash(token))
        )
    ).first()
    if found is None:
        return None
    user, session = found
    if session.expires_at <= now:
        return None  # the retention sweeper removes expired rows
    if session.last_seen_at is None or now - session.last_seen_at > _TOUCH_EVERY:
        session.last_seen_at = now
    return user, session


async def close_session(db: AsyncSession, *, session_id: uuid.UUID) -> None:
    """End one session (log out here)."""
    await db.execute(delete(AuthSession).where(AuthSession.id == session_id))


async def close_all_sessions(db: AsyncSession, *, user_id: uuid.UUID) -> int:
    """End every session of a user (log out everywhere); returns how many ended."""
    result = await db.execute(delete(AuthSession).where(AuthSession.user_id == user_id))
    return cast(CursorResult[Any], result).rowcount or 0
