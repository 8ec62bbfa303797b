"""Fixtures of the bus tests: NATS buses on a stream of their own, deleted afterwards."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from helpers.env import missing
from helpers.nats import NATS_URL, BusFactory


@pytest.fixture
async def make_bus() -> AsyncIterator[BusFactory]:
    """Skips (fails when services are required) without NATS and JetStream at NATS_URL."""
    import nats
    from nats.js.errors import NotFoundError

    try:
        nc = await asyncio.wait_for(nats.connect(NATS_URL, allow_reconnect=False), 3)
        js = nc.jetstream()
        await js.account_info()
    except Exception as exc:
        missing(f"NATS with JetStream at {NATS_URL} ({type(exc).__name__})")
    factory = BusFactory()
    try:
        yield factory
    finally:
        for bus in factory.buses:
            await bus.close()
        for name in (factory.stream, f"KV_{factory.stream}_leases"):
            with contextlib.suppress(NotFoundError):
                await js.delete_stream(name)
        await nc.close()
