"""An upload cut off half-way never shows as a recording; a cut tus upload can be resumed.

camtel runs whole in this process (`app.serve`: uvicorn, the analyser); the uploads that are
cut go over raw sockets that are reset (RST) while the body is still coming, as when a
phone loses its network or an uploader is killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import struct
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from camtel.config import Settings
from camtel.media import cleanup
from helpers.accounts import sign_up
from helpers.env import free_port
from helpers.faults import files_under, until
from helpers.media import TusUpload, clip, settled, upload
from helpers.serving import http_only


@pytest.fixture
def engine() -> str:
    return "sqlite"


@pytest.fixture
async def camtel(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, object, int]]:
    """camtel serving HTTP on a free port: (client, its services, port)."""
    async with (
        http_only(settings) as (services, port),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http,
    ):
        yield http, services, port


def cut_off(port: int, head: bytes, body: bytes) -> socket.socket:
    """Send `head` and half of `body` on a fresh connection; the caller cuts it."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(head + body[: len(body) // 2])
    return sock


def reset(sock: socket.socket) -> None:
    """Close with RST, not FIN: the client is gone, not done."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def partial(root: Path) -> list[Path]:
    return list(root.rglob("*.part"))


async def test_a_multipart_upload_cut_half_way_leaves_nothing(camtel, settings, caplog):
    http, services, port = camtel
    headers, _ = await sign_up(http, services, "cut@example.com")
    root = settings.data_dir / "media"
    before = files_under(root) if root.exists() else {}
    payload = clip(seconds=4.0, size=(320, 240))
    boundary = "camtel-cut"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="cut.mp4"\r\n'
            f"Content-Type: video/mp4\r\n\r\n"
        ).encode()
        + payload
        + f"\r\n--{boundary}--\r\n".encode()
    )
    head = (
        f"POST /api/v1/media HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: {headers['Authorization']}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    sock = cut_off(port, head, body)
    await until(lambda: bool(partial(root)), "the upload being written")
    with caplog.at_level(logging.INFO):
        reset(sock)
        await until(lambda: not partial(root), "the temporary file removed")
        await until(lambda: "went away" in caplog.text, "the cut noted in the log")
    assert files_under(root) == before, "no object left"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "not a crash"
    listed = await http.get("/api/v1/media", headers=headers)
    assert listed.status_code == 200 and listed.json() == [], "no recording, ready or not"
    # The same file sent whole is taken.
    again = await upload(http, headers, payload, "whole.mp4")
    assert again.status_code == 201, again.text
    assert (await settled(http, headers, again.json()["id"]))["status"] == "ready"


async def test_a_tus_upload_cut_half_way_stays_resumable_and_is_not_a_recording(camtel, settings):
    http, services, port = camtel
    headers, _ = await sign_up(http, services, "tus@example.com")
    root = settings.data_dir / "media"
    payload = clip(seconds=4.0, size=(320, 240))
    tus_upload = await TusUpload.start(http, headers, len(payload))
    tus, location, patch = tus_upload.headers, tus_upload.location, tus_upload.patch
    path = httpx.URL(location).path
    first = len(payload) // 3
    assert (await patch(0, payload[:first])).status_code == 204
    stored = files_under(root)
    rest = payload[first:]
    head = (
        f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: {headers['Authorization']}\r\nTus-Resumable: 1.0.0\r\n"
        f"Upload-Offset: {first}\r\nContent-Type: application/offset+octet-stream\r\n"
        f"Content-Length: {len(rest)}\r\n\r\n"
    ).encode()
    sock = cut_off(port, head, rest)
    await until(lambda: bool(partial(root)), "the part being written")
    reset(sock)
    await until(lambda: not partial(root), "the temporary file removed")
    assert files_under(root) == stored, "the parts that arrived whole, nothing else"
    offset = await http.head(location, headers=tus)
    assert offset.headers["Upload-Offset"] == str(first), "resumable where it was cut"
    listed = await http.get("/api/v1/media", headers=headers)
    assert listed.json() == [], "not a recording"

    resumed = await patch(first, rest)
    assert resumed.status_code == 204, resumed.text
    media_id = resumed.headers["Camtel-Media-Id"]
    assert (await settled(http, headers, media_id))["status"] == "ready"
    whole = await http.get(f"/api/v1/media/{media_id}/content", headers=headers)
    assert whole.content == payload


def _serve(settings: Settings, port: int) -> subprocess.Popen[bytes]:
    """`camtel serve` in a process of its own, on the test's data directory."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CAMTEL_")},
        "PYTHONPATH": os.pathsep.join(sys.path),
        "CAMTEL_DATA_DIR": str(settings.data_dir),
        "CAMTEL_HTTP_HOST": "127.0.0.1",
        "CAMTEL_HTTP_PORT": str(port),
        "CAMTEL_JT808_PORT": "0",
        "CAMTEL_TELTONIKA_PORT": "0",
        "CAMTEL_OSMAND_PORT": "0",
        "CAMTEL_COOKIE_SECURE": "true",
        "CAMTEL_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen([sys.executable, "-m", "camtel", "serve"], env=env)


async def _healthy(http: httpx.AsyncClient, child: subprocess.Popen[bytes]) -> None:
    async def answered() -> bool:
        with contextlib.suppress(httpx.TransportError):
            return (await http.get("/healthz")).status_code == 200
        return False

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 90
    while not await answered():
        assert child.poll() is None, "camtel serve ended"
        assert loop.time() < deadline, "camtel serve did not start"
        await asyncio.sleep(0.1)


async def test_serve_killed_mid_upload_shows_no_recording_and_resumes(settings, services):
    port = free_port()
    root = settings.data_dir / "media"
    payload = clip(seconds=4.0, size=(320, 240))
    child = _serve(settings, port)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            await _healthy(http, child)
            headers, _ = await sign_up(http, services, "killed@example.com")
            tus_upload = await TusUpload.start(http, headers, len(payload))
            tus, location = tus_upload.headers, tus_upload.location
            first = len(payload) // 3
            done = await tus_upload.patch(0, payload[:first])
            assert done.status_code == 204, done.text
            # Both ways of uploading under way when the process dies.
            boundary = "camtel-kill"
            form = (
                (
                    f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                    f'filename="killed.mp4"\r\nContent-Type: video/mp4\r\n\r\n'
                ).encode()
                + payload
                + f"\r\n--{boundary}--\r\n".encode()
            )
            multipart = cut_off(
                port,
                (
                    f"POST /api/v1/media HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    f"Authorization: {headers['Authorization']}\r\n"
                    f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                    f"Content-Length: {len(form)}\r\n\r\n"
                ).encode(),
                form,
            )
            rest = payload[first:]
            patch = cut_off(
                port,
                (
                    f"PATCH {httpx.URL(location).path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    f"Authorization: {headers['Authorization']}\r\nTus-Resumable: 1.0.0\r\n"
                    f"Upload-Offset: {first}\r\nContent-Type: application/offset+octet-stream\r\n"
                    f"Content-Length: {len(rest)}\r\n\r\n"
                ).encode(),
                rest,
            )
            await until(lambda: len(partial(root)) == 2, "both uploads being written")
            child.send_signal(signal.SIGKILL)
            assert child.wait(30) == -signal.SIGKILL
            multipart.close()
            patch.close()
            left = partial(root)
            assert len(left) == 2, "a killed process leaves its temporary files"

            child = _serve(settings, port)  # restarted on the same data
            await _healthy(http, child)
            listed = await http.get("/api/v1/media", headers=headers)
            assert listed.status_code == 200 and listed.json() == [], "no recording of a half"
            offset = await http.head(location, headers=tus)
            assert offset.headers["Upload-Offset"] == str(first), "tus resumes where it was"
            resumed = await http.patch(
                location,
                content=rest,
                headers={
                    **tus,
                    "Upload-Offset": str(first),
                    "Content-Type": "application/offset+octet-stream",
                },
            )
            assert resumed.status_code == 204, resumed.text
            media_id = resumed.headers["Camtel-Media-Id"]
            assert (await settled(http, headers, media_id))["status"] == "ready"
            whole = await http.get(f"/api/v1/media/{media_id}/content", headers=headers)
            assert whole.content == payload
    finally:
        if child.poll() is None:
            child.terminate()
            child.wait(30)

    # The retention chore removes the leftovers once no writer can be behind them.
    assert all(path.exists() for path in left)
    now = datetime.now(UTC)
    await cleanup.sweep(services.database, services.media, now=now)
    assert all(path.exists() for path in left), "not while an upload might still write"
    await cleanup.sweep(services.database, services.media, now=now + timedelta(days=2))
    assert partial(root) == []
