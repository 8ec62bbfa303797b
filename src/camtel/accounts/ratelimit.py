"""A sliding-window rate limiter keyed by address or account; the clock is passed in."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

from camtel.errors import RateLimited


def peer_address(request: Any) -> str:
    """The peer address a request came from, the key of per-address limits (behind a proxy,
    uvicorn's forwarded-address settings make it the client's)."""
    client = getattr(request, "client", None)
    return client.host if client else "unknown"


class RateLimiter:
    """Allow at most `limit` hits per key in any `window` seconds.

    Kept in memory: one API process holds it. Keys are hashed by the caller when they are
    personal (emails), so nothing here needs erasing.
    """

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.window = window
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}

    def check(self, key: str) -> None:
        """Record an attempt, or refuse it with RateLimited (a 429 with Retry-After)."""
        wait = self.hit(key)
        if wait is not None:
            raise RateLimited(wait)

    def hit(self, key: str) -> float | None:
        """Record an attempt; None when allowed, else the seconds until one is allowed again."""
        now = self._clock()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return hits[0] + self.window - now
        hits.append(now)
        if len(self._hits) > 100_000:
            self._evict(now)
        return None

    def reset(self, key: str) -> None:
        """Forget a key's attempts (after a successful login, say)."""
        self._hits.pop(key, None)

    def _evict(self, now: float) -> None:
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]:
            del self._hits[key]
