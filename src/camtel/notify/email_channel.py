"""The email channel for notifications: one mail per event, at most a few per person a minute.

Mail goes through the outbox (written in the dispatcher's transaction, so it is durable)
and out by the Mailer; SMTP work happens in this channel's own task, never in the router.
Beyond the per-minute allowance mail is skipped and counted: the inbox still has the event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from camtel.mail.outbox import Mailer

log = logging.getLogger(__name__)

#: Notification mails one person receives per minute at most (urgent ones always go out).
PER_MINUTE = 10


class Allowance:
    """A sliding one-minute window per person: pure, given the times."""

    def __init__(self, per_minute: int = PER_MINUTE) -> None:
        self.per_minute = per_minute
        self._sent: dict[uuid.UUID, deque[float]] = {}

    def take(self, user_id: uuid.UUID, now_s: float, *, urgent: bool) -> bool:
        window = self._sent.setdefault(user_id, deque())
        while window and now_s - window[0] >= 60:
            window.popleft()
        if not urgent and len(window) >= self.per_minute:
            return False
        window.append(now_s)
        return True


class EmailChannel:
    """Queues notification mail in the outbox and wakes the Mailer's delivery."""

    def __init__(self, mailer: Mailer, *, base_url: str, per_minute: int = PER_MINUTE) -> None:
        self.mailer = mailer
        self.base_url = base_url
        self.allowance = Allowance(per_minute)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.queued = 0
        self.throttled = 0

    def queue(
        self,
        db: AsyncSession,
        *,
        user_id: uuid.UUID,
        address: str,
        title: str,
        time: datetime,
        urgent: bool,
        now_s: float,
    ) -> bool:
        """Add a mail to the outbox in the caller's transaction; False when over allowance."""
        if not self.allowance.take(user_id, now_s, urgent=urgent):
            self.throttled += 1
            return False
        body = (
            f"{title}\n\nWhen: {time.isoformat(timespec='seconds')}\n\n"
            f"See it in camtel: {self.base_url}/app/alerts\n\n"
            "You get this mail because of a notification rule you set; change it in camtel."
        )
        subject = ("[urgent] " if urgent else "") + title
        self.mailer.queue(db, to=address, subject=subject[:200], body=body, user_id=user_id)
        self.queued += 1
        return True

    def kick(self) -> None:
        """Ask for delivery soon (after the outbox rows are committed)."""
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._work())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _work(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self.mailer.deliver_pending()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("notification mail delivery failed")
