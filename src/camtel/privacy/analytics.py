"""First-party usage statistics without cookies (P10): a visitor is a hash of today's random
salt, the client address and the browser; the salt is destroyed when the day ends, so
yesterday's hashes cannot be recomputed or linked to anyone, and they are then rolled up
into plain counts. Nothing links to an account. Published aggregates hide groups smaller
than k = 10 visitors."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

from sqlalchemy import delete, distinct, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.privacy.models import AnalyticsDaily, AnalyticsHit, AnalyticsSalt

K = 10
MAX_PAGE = 200

#: Path segments that may carry a secret or an identifier (share tokens, ids) become `:id`.
_IDLIKE = re.compile(r"^(?=.*\d)[A-Za-z0-9_\-=.~]{12,}$|^\d+$|^[0-9a-fA-F-]{32,36}$")

G = TypeVar("G")


def normalise_page(url_or_path: str) -> str | None:
    """The page a hit counts for: path only (no query, no fragment), ids masked. Pure."""
    try:
        path = urlsplit(url_or_path.strip()).path or "/"
    except ValueError:
        return None
    if not path.startswith("/"):
        return None
    segments = [(":id" if _IDLIKE.match(s) else s) for s in path.split("/")]
    page = "/".join(segments)
    if len(page) > MAX_PAGE:
        page = page[:MAX_PAGE]
    return page


def visitor_hash(salt: str, day: date, address: str, user_agent: str) -> str:
    """A visitor of one day: unlinkable across days and to anyone once the salt is gone."""
    data = f"{salt}|{day.isoformat()}|{address}|{user_agent}".encode()
    return hashlib.sha256(data).hexdigest()


def suppress(
    groups: Mapping[G, tuple[int, int]], k: int = K
) -> tuple[dict[G, tuple[int, int]], int]:
    """Keep groups with at least k visitors; return them and how many were hidden. Pure.

    Only the number of hidden groups is told, never their sum, so no small group can be
    recovered by subtracting published counts from a total.
    """
    kept = {key: value for key, value in groups.items() if value[0] >= k}
    return kept, len(groups) - len(kept)


async def salt_for(db: AsyncSession, day: date) -> str:
    """The day's salt, made on first use; salts of earlier days are destroyed."""
    await db.execute(delete(AnalyticsSalt).where(AnalyticsSalt.day < day))
    found = await db.scalar(select(AnalyticsSalt.salt).where(AnalyticsSalt.day == day))
    if found is not None:
        return found
    salt = secrets.token_hex(32)
    try:
        async with db.begin_nested():
            db.add(AnalyticsSalt(day=day, salt=salt))
            await db.flush()
    except IntegrityError:  # another request made it first
        found = await db.scalar(select(AnalyticsSalt.salt).where(AnalyticsSalt.day == day))
        assert found is not None
        return found
    return salt


async def rollup(db: AsyncSession, *, today: date) -> int:
    """Turn finished days' hits into counts and delete their hashes and salts."""
    await db.execute(delete(AnalyticsSalt).where(AnalyticsSalt.day < today))
    rows = (
        await db.execute(
            select(
                AnalyticsHit.day,
                AnalyticsHit.page,
                func.count(distinct(AnalyticsHit.visitor)),
                func.count(),
            )
            .where(AnalyticsHit.day < today)
            .group_by(AnalyticsHit.day, AnalyticsHit.page)
        )
    ).all()
    for day, page, visitors, views in rows:
        existing = await db.get(AnalyticsDaily, (day, page))
        if existing is None:
            db.add(AnalyticsDaily(day=day, page=page, visitors=visitors, views=views))
        else:  # a late hit of a rolled-up day (clock skew between nodes): add it
            existing.visitors += visitors
            existing.views += views
    await db.execute(delete(AnalyticsHit).where(AnalyticsHit.day < today))
    await db.flush()
    return len(rows)


async def hit(db: AsyncSession, *, page: str, address: str, user_agent: str, now: datetime) -> bool:
    """Count one page view; False when the page is not one camtel counts."""
    normalised = normalise_page(page)
    if normalised is None:
        return False
    day = now.date()
    salt = await salt_for(db, day)
    db.add(
        AnalyticsHit(day=day, page=normalised, visitor=visitor_hash(salt, day, address, user_agent))
    )
    await db.flush()
    return True


async def aggregate(
    db: AsyncSession, *, since: date, until: date, by: str = "day_page", k: int = K
) -> dict[str, Any]:
    """Visitors and views per group (day, page, or both) between two days, small groups hidden.

    Visitors are unique per day and page; summing over days counts visitor-days.
    """
    daily: dict[tuple[date, str], tuple[int, int]] = {}
    for day, page, visitors, views in (
        await db.execute(
            select(
                AnalyticsDaily.day,
                AnalyticsDaily.page,
                AnalyticsDaily.visitors,
                AnalyticsDaily.views,
            ).where(AnalyticsDaily.day >= since, AnalyticsDaily.day <= until)
        )
    ).all():
        daily[(day, page)] = (visitors, views)
    for day, page, visitors, views in (
        await db.execute(
            select(
                AnalyticsHit.day,
                AnalyticsHit.page,
                func.count(distinct(AnalyticsHit.visitor)),
                func.count(),
            )
            .where(AnalyticsHit.day >= since, AnalyticsHit.day <= until)
            .group_by(AnalyticsHit.day, AnalyticsHit.page)
        )
    ).all():
        old = daily.get((day, page), (0, 0))
        daily[(day, page)] = (old[0] + visitors, old[1] + views)
    groups: dict[tuple[str, ...], tuple[int, int]] = {}
    for (day, page), (visitors, views) in daily.items():
        key = {"day": (day.isoformat(),), "page": (page,)}.get(by, (day.isoformat(), page))
        old = groups.get(key, (0, 0))
        groups[key] = (old[0] + visitors, old[1] + views)
    kept, hidden = suppress(groups, k)
    names = {"day": ("day",), "page": ("page",)}.get(by, ("day", "page"))
    return {
        "k": k,
        "by": by,
        "groups": [
            dict(zip(names, key, strict=True)) | {"visitors": v, "views": n}
            for key, (v, n) in sorted(kept.items())
        ],
        "suppressed_groups": hidden,
    }
