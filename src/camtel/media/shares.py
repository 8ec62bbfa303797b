"""Share links: one recording shown without signing in, until the link expires or is revoked.

A link's token is 32 random bytes; only its SHA-256 is stored, so a copy of the database opens
no link and a lost token cannot be shown again (a new link is made instead). The decisions
(how long a link may live, whether it opens now, whether its bytes may still stream) are pure
functions; the rest wraps them thinly.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.accounts.caller import Caller
from camtel.accounts.ratelimit import RateLimiter
from camtel.db.engine import Database
from camtel.errors import CamtelError, Invalid, NotFound
from camtel.media import service
from camtel.media.models import Media, MediaShare

log = logging.getLogger(__name__)

TOKEN_BYTES = 32
MIN_EXPIRY_S = 1
#: With a view limit, the bytes stream only this long after a counted opening of the page
#: (a viewer seeking through a video), never to someone who skips the page.
STREAM_GRACE = timedelta(hours=4)
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")


class NotReady(CamtelError):
    status, type, title = 409, "not-ready", "The recording is not ready"


# Tokens


def new_token() -> str:
    """A fresh link token: 32 random bytes, URL-safe base64 (43 characters)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """What is stored of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def well_formed(token: str) -> bool:
    """Whether a string could be a token at all (others are refused without a query)."""
    return _TOKEN_SHAPE.fullmatch(token) is not None


# Pure decisions


class ShareLike(Protocol):
    expires_at: datetime
    revoked_at: datetime | None
    max_views: int | None
    views: int
    last_viewed_at: datetime | None


def lifetime_s(requested: int | None, *, default_s: int, max_s: int) -> int:
    """How long a new link lives: as asked, within [MIN_EXPIRY_S, max_s]; the default when
    nothing is asked (capped by the maximum)."""
    if requested is None:
        return max(MIN_EXPIRY_S, min(default_s, max_s))
    if not MIN_EXPIRY_S <= requested <= max_s:
        raise Invalid(
            f"expires_in_s must be between {MIN_EXPIRY_S} and {max_s} seconds",
            field="expires_in_s",
        )
    return requested


def state(share: ShareLike, now: datetime) -> str:
    """`revoked`, `expired`, `used_up` (its view limit reached) or `active`."""
    if share.revoked_at is not None:
        return "revoked"
    if now >= share.expires_at:
        return "expired"
    if share.max_views is not None and share.views >= share.max_views:
        return "used_up"
    return "active"


def may_open(share: ShareLike, now: datetime) -> bool:
    """Whether the link's page opens now (and counts a view)."""
    return state(share, now) == "active"


def may_stream(share: ShareLike, now: datetime, grace: timedelta = STREAM_GRACE) -> bool:
    """Whether the link's bytes stream now: while it is neither revoked nor expired; with a
    view limit, only within `grace` of a counted opening of its page."""
    if share.revoked_at is not None or now >= share.expires_at:
        return False
    if share.max_views is None:
        return True
    return share.last_viewed_at is not None and now - share.last_viewed_at <= grace


# Creating, listing, revoking


async def _changeable(db: AsyncSession, caller: Caller, media_id: uuid.UUID) -> Media:
    media = await service.get(db, caller=caller, media_id=media_id)
    caller.require(media.organization_id, service.may_change(caller, media), "share this recording")
    return media


async def create(
    db: AsyncSession,
    *,
    caller: Caller,
    media_id: uuid.UUID,
    lifetime: int,
    redact: bool,
    max_views: int | None,
    now: datetime,
) -> tuple[MediaShare, str, Media]:
    """A new link to a ready recording the caller may change; (row, token, recording). The
    token is returned this once and never stored."""
    media = await _changeable(db, caller, media_id)
    if media.status != "ready":
        raise NotReady(
            "the recording is still being analysed; share it once it is ready"
            if media.status == "processing"
            else "the recording could not be analysed, so it cannot be shared"
        )
    token = new_token()
    share = MediaShare(
        media_id=media.id,
        owner_id=caller.user.id,
        organization_id=media.organization_id,
        token_hash=token_hash(token),
        created_at=now,
        expires_at=now + timedelta(seconds=lifetime),
        redact=redact,
        max_views=max_views,
        views=0,
    )
    db.add(share)
    await db.flush()
    log.info("share link made", extra={"share_id": str(share.id), "redact": redact})
    return share, token, media


async def list_shares(
    db: AsyncSession, *, caller: Caller, media_id: uuid.UUID
) -> tuple[list[MediaShare], Media]:
    """The links to a recording the caller may change, newest first."""
    media = await _changeable(db, caller, media_id)
    rows = await db.scalars(
        select(MediaShare)
        .where(MediaShare.media_id == media.id)
        .order_by(MediaShare.created_at.desc(), MediaShare.id.desc())
    )
    return list(rows), media


async def revoke(
    db: AsyncSession, *, caller: Caller, share_id: uuid.UUID, now: datetime
) -> MediaShare:
    """Revoke a link at once (again is a no-op): its maker or whoever may change the recording."""
    share = await db.get(MediaShare, share_id)
    media = None
    if share is not None:
        media = await db.scalar(service.visible_media(caller).where(Media.id == share.media_id))
    if share is None or media is None:
        raise NotFound("share link not found")
    allowed = share.owner_id == caller.user.id or service.may_change(caller, media)
    caller.require(media.organization_id, allowed, "revoke this link")
    if share.revoked_at is None:
        share.revoked_at = now
        await db.flush()
        log.info("share link revoked", extra={"share_id": str(share.id)})
    return share


# Opening a link


async def find(db: AsyncSession, *, token: str, now: datetime) -> tuple[MediaShare, Media] | None:
    """The link behind a token and its recording, while it is neither revoked nor expired."""
    if not well_formed(token):
        return None
    found = (
        await db.execute(
            select(MediaShare, Media)
            .join(Media, Media.id == MediaShare.media_id)
            .where(MediaShare.token_hash == token_hash(token))
        )
    ).first()
    if found is None:
        return None
    share, media = found
    if share.revoked_at is not None or now >= share.expires_at:
        return None
    return share, media


async def count_view(db: AsyncSession, share: MediaShare, *, now: datetime) -> bool:
    """Count one opening of the page; False when the view limit was reached meanwhile (the
    check and the count are one statement, so two viewers cannot both take the last view)."""
    result = await db.execute(
        update(MediaShare)
        .where(
            MediaShare.id == share.id,
            or_(MediaShare.max_views.is_(None), MediaShare.views < MediaShare.max_views),
        )
        .values(views=MediaShare.views + 1, last_viewed_at=now)
        .execution_options(synchronize_session=False)
    )
    counted = getattr(result, "rowcount", 0) == 1
    if counted:
        share.views, share.last_viewed_at = share.views + 1, now
    return counted


@dataclass
class GuessGuard:
    """Refuses a client address for the rest of a rate window once it has tried too many
    unknown links: 32 random bytes cannot be guessed, but scanning still costs queries."""

    limit: int
    window_s: float
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self._misses = RateLimiter(self.limit, self.window_s, self.clock)
        self._until: dict[str, float] = {}

    def blocked(self, address: str) -> float | None:
        """Seconds the address must still wait, or None."""
        until = self._until.get(address)
        if until is None:
            return None
        left = until - self.clock()
        if left <= 0:
            del self._until[address]
            return None
        return left

    def missed(self, address: str) -> None:
        """Record an unknown (or dead) link tried from the address."""
        wait = self._misses.hit(address)
        if wait is not None:
            if len(self._until) > 100_000:
                self._until.clear()
            self._until[address] = self.clock() + wait


# Retention


async def sweep(database: Database, *, now: datetime, keep_days: int) -> int:
    """Delete links expired or revoked more than `keep_days` ago (until then their makers
    still see them listed, with their view counts)."""
    cutoff = now - timedelta(days=keep_days)
    async with database.session() as db:
        result = await db.execute(
            delete(MediaShare).where(
                or_(MediaShare.expires_at <= cutoff, MediaShare.revoked_at <= cutoff)
            )
        )
        removed = int(getattr(result, "rowcount", 0) or 0)
    if removed:
        log.info("share links swept", extra={"removed": removed})
    return removed
