"""Request bodies are bounded everywhere but on the two upload routes, over real HTTP: a
JSON route under /api/v1/media answers 413 long before a 50 MB body could have arrived,
signed in or not, declared or chunked; uploads still take files beyond the limit."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn

from camtel.app import build_api
from helpers.accounts import sign_up

HUGE = 50_000_000
TUS = {"Tus-Resumable": "1.0.0"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
async def site(services) -> AsyncIterator[tuple[str, int]]:  # type: ignore[no-untyped-def]
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            build_api(services), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    yield "127.0.0.1", port
    server.should_exit = True
    await asyncio.wait_for(task, 30)


async def _answer_to_a_huge_body(
    site: tuple[str, int], method: str, path: str, headers: dict[str, str], *, chunked: bool
) -> int:
    """Start sending a 50 MB body (declared, or chunked without a length), stop after 2 MiB and
    wait for the status line: a server that waits for the whole body never answers."""
    reader, writer = await asyncio.open_connection(*site)
    framing = {"Transfer-Encoding": "chunked"} if chunked else {"Content-Length": str(HUGE)}
    lines = [f"{method} {path} HTTP/1.1", "Host: camtel.test", "Content-Type: application/json"]
    lines += [f"{k}: {v}" for k, v in {**headers, **framing}.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    piece = b'{"category": "' + b"x" * 65_000
    try:
        for _ in range(32):  # about 2 MiB of the 50 MB
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            await writer.drain()
            piece = b"x" * 65_000
    except ConnectionError:
        pass  # the server may hang up once it has answered
    try:
        status_line = await asyncio.wait_for(reader.readline(), 10)
    finally:
        writer.close()
    return int(status_line.split()[1])


async def test_json_routes_under_media_refuse_huge_bodies_at_once(site, services):
    base = f"http://{site[0]}:{site[1]}"
    async with httpx.AsyncClient(base_url=base) as http:
        signed_in, _ = await sign_up(http, services, "huge@example.com")
    some_id = uuid.uuid4()
    for headers in ({}, signed_in):
        for method, path in (
            ("PATCH", f"/api/v1/media/{some_id}"),
            ("POST", f"/api/v1/media/{some_id}/shares"),
            ("POST", "/api/v1/devices"),
        ):
            for chunked in (False, True):
                status = await _answer_to_a_huge_body(site, method, path, headers, chunked=chunked)
                assert status == 413, (method, path, bool(headers), chunked, status)


async def test_uploads_still_take_bodies_beyond_the_limit(site, services):
    size = services.settings.max_request_bytes * 3
    data = os.urandom(size)
    base = f"http://{site[0]}:{site[1]}"
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        headers, _ = await sign_up(http, services, "uploads@example.com")
        made = await http.post(
            "/api/v1/media",
            headers=headers,
            files={"file": ("big.bin", data, "application/octet-stream")},
        )
        assert made.status_code == 201, made.text
        assert made.json()["size"] == size

        created = await http.post(
            "/api/v1/media/uploads", headers={**headers, **TUS, "Upload-Length": str(2 * size)}
        )
        assert created.status_code == 201, created.text
        patch = {**headers, **TUS, "Content-Type": "application/offset+octet-stream"}
        first = await http.patch(
            created.headers["location"], headers={**patch, "Upload-Offset": "0"}, content=data
        )
        assert first.status_code == 204, first.text

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: sent chunked
            for start in range(0, size, 256 * 1024):
                yield data[start : start + 256 * 1024]

        second = await http.patch(
            created.headers["location"],
            headers={**patch, "Upload-Offset": str(size)},
            content=chunks(),
        )
        assert second.status_code == 204, second.text
        assert second.headers["upload-offset"] == str(2 * size)
        media_id = second.headers["camtel-media-id"]
        stored = await http.get(f"/api/v1/media/{media_id}", headers=headers)
        assert stored.json()["size"] == 2 * size
