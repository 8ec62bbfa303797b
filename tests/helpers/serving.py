"""camtel served whole in the test's process (`app.serve`: uvicorn, the chores, the workers)
with HTTP on a free port and no device gateways."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from camtel.app import serve
from camtel.config import Settings
from camtel.services import Services
from helpers.env import free_port


@contextlib.asynccontextmanager
async def http_only(settings: Settings) -> AsyncIterator[tuple[Services, int]]:
    """`camtel serve` on `settings` until the block ends: (its services, its HTTP port)."""
    port = free_port()
    changed = settings.model_copy(
        update={
            "http_host": "127.0.0.1",
            "http_port": port,
            "osmand_port": 0,
            "jt808_port": 0,
            "teltonika_port": 0,
            "mqtt_url": "",
        }
    )
    ready: asyncio.Future[Services] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve(changed, on_ready=lambda s, _i: ready.set_result(s)))
    try:
        await asyncio.wait({task, ready}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()  # serve() failed: show why
        yield ready.result(), port
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(task, 30)
