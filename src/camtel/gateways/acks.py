"""Acknowledgements in frame order, each sent once its positions are durable.

A connection does not wait for one frame's commit before reading the next: each frame's
replies are queued with the futures of its positions, and replies leave from the head of
the queue as soon as the head's futures have resolved. So a device sees its acks in the
order it sent its frames, never before the commit, and many frames share one transaction.

A frame whose positions failed or did not resolve within the timeout gets no reply (the
device sends them again); the frames after it are answered as usual.

Replies that become due together (one commit settles many frames of a connection) leave in
one write: one system call per commit and connection, not one per frame.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any


class _Entry:
    __slots__ = ("deadline", "failed", "left", "replies")

    def __init__(self, replies: list[bytes], left: int, deadline: float) -> None:
        self.replies = replies
        self.left = left
        self.failed = False
        self.deadline = deadline


class OrderedAcks:
    """The replies of one connection waiting for durability, in the order of their frames."""

    def __init__(
        self,
        write: Callable[[bytes], None],
        counters: Any,
        *,
        timeout_s: float = 30.0,
        limit: int = 256,
    ) -> None:
        self.write = write
        self.counters = counters
        self.timeout_s = timeout_s
        self.limit = limit
        self._queue: deque[_Entry] = deque()
        self._loop = asyncio.get_running_loop()
        self._timer: asyncio.TimerHandle | None = None
        self._room: asyncio.Future[None] | None = None
        self._flushing = False

    def __len__(self) -> int:
        return len(self._queue)

    def add(self, replies: list[bytes], futures: Iterable[asyncio.Future[None]] = ()) -> None:
        """Send `replies` after every earlier frame's, once all `futures` have resolved."""
        futures = list(futures)
        pending = [f for f in futures if not f.done()]
        failed = any(f.done() and (f.cancelled() or f.exception()) for f in futures)
        if not pending and not self._queue:
            self._send(self._finish(replies, failed))
            return
        entry = _Entry(replies, len(pending), self._loop.time() + self.timeout_s)
        entry.failed = failed
        self._queue.append(entry)
        for future in pending:
            future.add_done_callback(lambda f: self._resolved(entry, f))
        if self._timer is None:
            self._timer = self._loop.call_at(entry.deadline, self._expire)

    async def room(self) -> None:
        """Wait while `limit` frames are unanswered (back-pressure on a flooding device)."""
        while len(self._queue) >= self.limit:
            self._room = self._loop.create_future()
            await self._room

    def close(self) -> None:
        """Forget what is waiting: the connection is gone."""
        self._queue.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._wake()

    def _resolved(self, entry: _Entry, future: asyncio.Future[None]) -> None:
        if future.cancelled() or future.exception() is not None:
            entry.failed = True
        entry.left -= 1
        if entry.left == 0 and self._queue and self._queue[0] is entry and not self._flushing:
            # One commit settles many frames, and their callbacks run one after the other in
            # this loop iteration: flush once after all of them, so their replies share a write.
            self._flushing = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flushing = False
        queue = self._queue
        due: list[bytes] = []
        while queue and queue[0].left <= 0:
            entry = queue.popleft()
            due += self._finish(entry.replies, entry.failed)
        self._send(due)
        if len(queue) < self.limit:
            self._wake()

    def _finish(self, replies: list[bytes], failed: bool) -> list[bytes]:
        """The replies to send for a settled frame: none when its positions failed."""
        if failed:
            self.counters["not_acknowledged"] += 1
            return []
        return replies

    def _send(self, replies: list[bytes]) -> None:
        if replies:
            self.write(replies[0] if len(replies) == 1 else b"".join(replies))

    def _expire(self) -> None:
        self._timer = None
        now = self._loop.time()
        for entry in self._queue:
            if entry.deadline > now:
                break
            if entry.left > 0:
                entry.left = 0
                entry.failed = True
                self.counters["not_durable"] += 1
        self._flush()
        if self._queue:
            self._timer = self._loop.call_at(self._queue[0].deadline, self._expire)

    def _wake(self) -> None:
        if self._room is not None and not self._room.done():
            self._room.set_result(None)
