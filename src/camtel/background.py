"""Work a request starts and does not wait for (a refused sign-in's log line, an export being
built), owned by the process: kept from the garbage collector while it runs and awaited when
the process stops, instead of living in module-level sets."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


class Background:
    """The process's fire-and-forget tasks; `settle` waits for those still running."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, work: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        """Run `work` after the caller returns; kept until done."""
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def __len__(self) -> int:
        return len(self._tasks)

    async def settle(self) -> None:
        """Wait for this loop's tasks, those they started included (shutdown, tests)."""
        loop = asyncio.get_running_loop()
        while mine := [t for t in self._tasks if t.get_loop() is loop]:
            await asyncio.gather(*mine, return_exceptions=True)
        self._tasks.clear()  # any left belong to a loop that is gone
