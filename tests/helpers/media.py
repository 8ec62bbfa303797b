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
from camtel.media.derivatives import Redactor, Transcoder
from camtel.services import Services

KARMA = "gopro_karma.mp4"


@dataclass
class MediaWorld:
    http: httpx.AsyncClient
    analyzer: Analyzer
    services: Services

    @property
    def lib(self) -> service.MediaLibrary:
        return self.services.media


def analyzer(services: Services, *, processes: bool = False, workers: int = 1) -> Analyzer:
    """An analyser attached to the services' library, as `camtel.app.media_workers` makes it
    (threads unless `processes`: the process pool is tested on its own)."""
    dispatcher = services.dispatcher
    services.media.analyzer = made = Analyzer(
        services.workbench(),
        workers=workers,
        processes=processes,
        events_stored=dispatcher.events_stored if dispatcher is not None else None,
    )
    return made


def redactor(services: Services) -> Redactor:
    """A redactor attached to the services' library."""
    services.media.redactor = made = Redactor(services.workbench())
    return made


def transcoder(services: Services) -> Transcoder:
    """A transcoder attached to the services' library."""
    services.media.transcoder = made = Transcoder(services.workbench())
    return made


@asynccontextmanager
async def media_world(services: Services) -> AsyncIterator[MediaWorld]:
    """The whole API and an analyzer working in threads (the process pool is tested on its
    own)."""
    app = build_api(services)
    worker = analyzer(services)
    task = asyncio.create_task(worker.run())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as http:
        yield MediaWorld(http, worker, services)
    worker.stop()
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


@dataclass
class TusUpload:
    """A resumable (tus) upload opened through the API, sent on in pieces by `patch`."""

    http: httpx.AsyncClient
    headers: dict[str, str]  # the caller's, with Tus-Resumable
    location: str

    @classmethod
    async def start(
        cls, http: httpx.AsyncClient, headers: dict[str, str], length: int,
        filename: str = "resumed.mp4",
    ) -> TusUpload:
        tus = {**headers, "Tus-Resumable": "1.0.0"}
        started = await http.post(
            "/api/v1/media/uploads",
            headers={
                **tus,
                "Upload-Length": str(length),
                "Upload-Metadata": tus_metadata(filename=filename),
            },
        )
        assert started.status_code == 201, started.text
        return cls(http, tus, started.headers["Location"])

    async def patch(self, offset: int, data: bytes) -> httpx.Response:
        return await self.http.patch(
            self.location,
            content=data,
            headers={
                **self.headers,
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
            },
        )


def shared_file(testdata: Path, name: str) -> bytes:
    return (testdata / "fixtures" / name).read_bytes()


def clip_with_sound(seconds: float = 1.0, size: tuple[int, int] = (96, 64), fps: int = 10) -> bytes:
    """A small real MP4 with an AAC sound track and a GPS `location` and creation time in its
    metadata: what a redacted copy must leave out."""
    import av
    import numpy as np

    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        container.metadata["location"] = "+52.5200+013.4050/"
        container.metadata["creation_time"] = "2024-05-01T10:00:00Z"
        video = container.add_stream("mpeg4", rate=fps)
        video.width, video.height = size
        video.pix_fmt = "yuv420p"
        sound = container.add_stream("aac", rate=16_000)
        sound.layout = "mono"
        for index in range(int(seconds * fps)):
            frame = av.VideoFrame(size[0], size[1], "yuv420p")
            for plane in frame.planes:
                plane.update(bytes([(index * 20) % 256]) * plane.buffer_size)
            frame.pts = index
            for packet in video.encode(frame):
                container.mux(packet)
        samples = int(seconds * 16_000)
        for start in range(0, samples, 1024):
            count = min(1024, samples - start)
            chunk = np.zeros((1, count), dtype=np.float32)
            audio = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
            audio.sample_rate, audio.pts = 16_000, start
            for packet in sound.encode(audio):
                container.mux(packet)
        for stream in (video, sound):
            for packet in stream.encode(None):
                container.mux(packet)
    return out.getvalue()
