"""Work a request starts and does not wait for is owned and awaited at shutdown."""

from __future__ import annotations

import asyncio

from camtel.background import Background


async def test_spawned_work_is_kept_until_done_and_settled() -> None:
    background, finished = Background(), []

    async def later(n: int) -> None:
        await asyncio.sleep(0.01 * n)
        if n == 2:
            background.spawn(later(3), name="started by a task")
        if n == 1:
            raise RuntimeError("a failing task does not stop the others")
        finished.append(n)

    for n in (1, 2, 0):
        background.spawn(later(n), name=f"job {n}")
    assert len(background) == 3
    await background.settle()
    assert sorted(finished) == [0, 2, 3] and len(background) == 0
