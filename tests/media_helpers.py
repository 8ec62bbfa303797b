"""Helpers for media library tests: an API client with the media router and a running analyzer,
small generated clips, and multipart and tus calls."""

from __future__ import annotations

import asyncio
import base64
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import httpx

from camtel.app import build_api
from camtel.media import service
from camtel.media.analysis import Analyzer
from camtel.services import Services

KARMA = "gopro_karma.mp4"


@dataclass
class MediaWorld:
    http: httpx.AsyncClient
    analyzer: Analyzer
    services: Services

    @property
    def lib(self) -> service.MediaLibrary:
        return service.library(self.services)


@asynccontextmanager
async def media_world(services: Services) -> AsyncIterator[MediaWorld]:
    """The API with the media router (added here until app.py includes it) and an analyzer
    working in threads (the process pool is tested on its own)."""
    from camtel.api import media as media_api

    app = build_api(services)
    if not any(getattr(r, "path", "").startswith("/api/v1/media") for r in app.routes):
        app.include_router(media_api.router, prefix="/api/v1")
    analyzer = Analyzer(services, processes=False)
    task = asyncio.create_task(analyzer.run())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as http:
        yield MediaWorld(http, analyzer, services)
    analyzer.stop()
    await asyncio.wait_for(task, 30)


def clip(seconds: float = 1.0, size: tuple[int, int] = (96, 64), fps: int = 10) -> bytes:
    """A small real MP4 (MPEG-4 part 2), made with PyAV."""
    import av

    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, fps)
        for index in range(int(seconds * fps)):
            frame = av.VideoFrame(size[0], size[1], "yuv420p")
            for plane in frame.planes:
                plane.update(bytes([(index * 20) % 256]) * plane.buffer_size)
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def jpeg(size: tuple[int, int] = (64, 48)) -> bytes:
    """A small real JPEG."""
    import av

    encoder = av.CodecContext.create("mjpeg", "w")
    encoder.width, encoder.height = size
    encoder.pix_fmt = "yuvj420p"
    encoder.time_base = Fraction(1, 25)
    frame = av.VideoFrame(size[0], size[1], "yuvj420p")
    for plane in frame.planes:
        plane.update(b"\x80" * plane.buffer_size)
    return b"".join(bytes(p) for p in [*encoder.encode(frame), *encoder.encode(None)])


async def upload(
    http: httpx.AsyncClient,
    headers: dict[str, str],
    data: bytes,
    filename: str = "clip.mp4",
    **fields: str,
) -> httpx.Response:
    return await http.post(
        "/api/v1/media",
        headers=headers,
        files={"file": (filename, data, "application/octet-stream")},
        data=fields,
    )


async def settled(http: httpx.AsyncClient, headers: dict[str, str], media_id: str) -> dict:
    """The media once analysis has finished (ready or failed)."""
    for _ in range(400):
        answer = await http.get(f"/api/v1/media/{media_id}", headers=headers)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        if body["status"] != "processing":
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"media {media_id} still processing")


def tus_metadata(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def shared_file(shared_dir: Path, name: str) -> bytes:
    return (shared_dir / "fixtures" / name).read_bytes()
