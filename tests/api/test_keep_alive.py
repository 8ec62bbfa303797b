"""`camtel serve` keeps an idle HTTP connection open longer than its clients and load balancers
do: a request sent on a connection that sat idle for several seconds is answered. At uvicorn's
5 s default, equal to httpx's own expiry, a client that reused its connection just as the
server closed it failed to read the answer (seen in CI as `httpx.ReadError`)."""

from __future__ import annotations

import asyncio

import pytest

from camtel.config import Settings
from helpers.serving import http_only

IDLE_S = 6.0  # past uvicorn's 5 s default and httpx's 5 s keep-alive expiry


async def _ask(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: camtel.test\r\n\r\n")
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    await reader.readexactly(length)
    return head.split(b"\r\n", 1)[0]


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
async def test_an_idle_connection_is_still_answered_after_several_seconds(settings: Settings):
    async with http_only(settings) as (_services, port):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await _ask(reader, writer) == b"HTTP/1.1 200 OK"
        await asyncio.sleep(IDLE_S)
        assert not reader.at_eof(), "the server closed an idle connection within 6 s"
        assert await _ask(reader, writer) == b"HTTP/1.1 200 OK"
        writer.close()
