"""The analysis worker: probe, thumbnail, embedded track, G-sensor peaks → events and a lock.

The heavy work (PyAV decoding, track parsing) runs in worker processes, never on the event
loop; a crash or hang of one file fails that file with a reason and the worker goes on. The
stored bytes are never altered: analysis reads a decrypted working copy that it removes after.
What the file is comes from `sniff.py` and the G-sensor peaks from `peaks.py`, both pure.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import multiprocessing
import os
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.db import claims
from camtel.events.models import Event
from camtel.media import derivatives, service
from camtel.media.models import Media, MediaTrack
from camtel.media.peaks import Peak, find_peaks
from camtel.media.sniff import DESCRIPTIONS, HEAD_BYTES, IMAGES, sniff
from camtel.media.transcode import needs_copy

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

log = logging.getLogger(__name__)

THUMB_WIDTH = 320
MAX_STORED_GSENSOR = 20_000
JOB_TIMEOUT_S = 900.0

#: Analysis as claimable work: a recording `processing`, leased in `analysis_claimed_*`.
ANALYSIS = claims.Work(
    name="analysis",
    table=cast(Table, Media.__table__),
    wanted=lambda: Media.status == "processing",
    by="analysis_claimed_by",
    until="analysis_claimed_until",
)


# Pure decisions


def kind_problem(claimed: str, found: str) -> str | None:
    """Why the bytes do not match what the upload said, or None when they do."""
    if claimed == "video" and found in IMAGES:
        return f"the file is {DESCRIPTIONS[found]}, not a video (its name or type says video)"
    if claimed == "photo" and found not in IMAGES and found != "unknown":
        return None  # a video named .jpg: analysed as the video it is
    return None


def downsample(items: list[Any], most: int) -> list[Any]:
    """At most `most` items, evenly spread (the stored series is for drawing)."""
    if len(items) <= most:
        return items
    step = len(items) / most
    return [items[int(i * step)] for i in range(most)]


# The CPU-heavy part, run in a worker process


@dataclass(slots=True)
class Report:
    """What analysing one file found. Picklable: it crosses the process boundary."""

    failure: str | None = None
    kind: str = "video"
    duration_s: float | None = None
    created: datetime | None = None
    probe: dict[str, Any] = field(default_factory=dict)
    thumbnail: bytes | None = None
    source_format: str | None = None
    points: list[list[Any]] = field(default_factory=list)
    gsensor: list[tuple[float, float, float, float]] = field(default_factory=list)
    peaks: list[Peak] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _jpeg(frame: Any) -> bytes:
    import av

    width = min(THUMB_WIDTH, frame.width)
    height = max(2, round(frame.height * width / frame.width / 2) * 2)
    encoder = av.CodecContext.create("mjpeg", "w")
    encoder.width, encoder.height = width, height
    encoder.pix_fmt = "yuvj420p"
    encoder.time_base = Fraction(1, 25)
    scaled = frame.reformat(width=width, height=height, format="yuvj420p")
    packets = [*encoder.encode(scaled), *encoder.encode(None)]
    return b"".join(bytes(p) for p in packets)


def probe_file(path: str, claimed: str) -> Report:
    """Probe (duration, codecs, resolution) and make a thumbnail from the first keyframe."""
    with open(path, "rb") as file:
        head = file.read(HEAD_BYTES)
    found = sniff(head)
    problem = kind_problem(claimed, found)
    if problem:
        return Report(failure=problem)
    if not head:
        return Report(failure="the file is empty")
    import av

    report = Report(kind="photo" if found in IMAGES else "video")
    try:
        container = av.open(path)
    except Exception as exc:  # PyAV raises many types for bad input
        return Report(
            failure=f"not a readable {'image' if found in IMAGES else 'video'}: {_why(exc)}"
        )
    with container:
        video = container.streams.video[0] if container.streams.video else None
        if video is None:
            return Report(failure="the file has no video or image stream")
        if container.duration and report.kind == "video":
            report.duration_s = round(container.duration / 1_000_000, 3)
        created = container.metadata.get("creation_time")
        if created:
            try:
                report.created = datetime.fromisoformat(created.replace("Z", "+00:00"))
            except ValueError:
                report.warnings.append(f"unreadable creation_time {created!r}")
        report.probe = {
            "container": container.format.name,
            "video_codec": video.codec_context.name,
            "pix_fmt": video.codec_context.pix_fmt,
            "width": video.codec_context.width,
            "height": video.codec_context.height,
            "frame_rate": float(video.average_rate) if video.average_rate else None,
            "bit_rate": container.bit_rate or None,
            "audio_codec": container.streams.audio[0].codec_context.name
            if container.streams.audio
            else None,
            "streams": len(container.streams),
        }
        try:
            video.codec_context.skip_frame = "NONKEY"
            for frame in container.decode(video):
                report.thumbnail = _jpeg(frame)
                break
        except Exception as exc:
            report.warnings.append(f"no thumbnail: {_why(exc)}")
        if report.thumbnail is None and report.kind == "photo":
            return Report(failure="the image cannot be decoded")
        if report.thumbnail is None and not report.warnings:
            report.warnings.append("no decodable keyframe for a thumbnail")
    return report


def extract_track(path: str) -> Report:
    """The embedded GPS track and G-sensor series, and the G-sensor peaks."""
    from camtel.media.tracks import extract

    report = Report()
    found = extract(Path(path))
    report.source_format = found.source_format
    report.warnings = list(found.warnings)
    report.points = [
        [
            round(p.offset_s, 3),
            p.time.isoformat() if p.time else None,
            p.latitude,
            p.longitude,
            p.altitude_m,
            p.speed_kmh,
            p.course,
        ]
        for p in found.points
    ]
    report.gsensor = [(g.offset_s, g.x, g.y, g.z) for g in found.gsensor]
    report.peaks = find_peaks(report.gsensor)
    return report


def _why(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text[:300]


# The worker around it


class Analyzer:
    """Takes recordings in `processing` and makes them `ready` (or `failed`, with a reason).

    `submit(media_id)` queues one (the upload path of this process: at once); `run()` works
    until `stop()`, and every `job_poll_s` also claims recordings waiting for any analyser:
    queued by another process (an API node runs none), or left by a crash or a dead worker
    whose lease ran out. Each recording is claimed before it is analysed (camtel.db.claims),
    so two analysers never work on the same one.
    """

    def __init__(
        self,
        bench: service.Workbench,
        *,
        workers: int = 1,
        processes: bool = True,
        events_stored: Callable[[Sequence[Event]], None] | None = None,
    ) -> None:
        self.bench, self.lib = bench, bench.lib
        #: Told of the events a recording's G-sensor peaks made (the notification dispatcher).
        self.events_stored = events_stored
        self.workers = max(1, workers)
        self.processes = processes
        self._queue: asyncio.Queue[uuid.UUID | None] = asyncio.Queue()
        self._queued: set[uuid.UUID] = set()
        self._pool: concurrent.futures.Executor | None = None
        self._stopping = False
        self._working: set[uuid.UUID] = set()
        self.claims = claims.Claims(bench.database, ANALYSIS, clock=bench.clock)
        self.work_dir = bench.work_dir

    def submit(self, media_id: uuid.UUID) -> None:
        """Queue a recording for analysis (a repeat while queued is ignored)."""
        if media_id not in self._queued:
            self._queued.add(media_id)
            self._queue.put_nowait(media_id)

    def stop(self) -> None:
        """Finish the files in hand and end `run()`."""
        self._stopping = True
        for _ in range(self.workers):
            self._queue.put_nowait(None)

    async def idle(self, timeout_s: float = 30.0) -> None:
        """Wait until every queued recording, and every one waiting unclaimed in the
        database, is done (tests, `camtel demo`)."""
        async with asyncio.timeout(timeout_s):
            await self.claims.settled(self._queue)

    def _room(self) -> int:
        return self.workers - len(self._working) - self._queue.qsize()

    def _new_pool(self) -> concurrent.futures.Executor:
        if self.processes:
            return concurrent.futures.ProcessPoolExecutor(
                max_workers=self.workers, mp_context=multiprocessing.get_context("spawn")
            )
        return concurrent.futures.ThreadPoolExecutor(
            max_workers=self.workers, thread_name_prefix="camtel-analysis"
        )

    async def run(self) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.work_dir, 0o700)
        self._pool = self._new_pool()
        poll = asyncio.create_task(
            self.claims.keep(every_s=self.bench.poll_s, room=self._room, found=self.submit),
            name="analysis-claims",
        )
        try:
            await asyncio.gather(*(self._consume() for _ in range(self.workers)))
        finally:
            # Wait for the claims poll to end: left cancelling, it would still hold a database
            # connection while the application closes the pool (a hang at shutdown).
            poll.cancel()
            await asyncio.gather(poll, return_exceptions=True)
            self._pool.shutdown(wait=False, cancel_futures=True)

    async def _consume(self) -> None:
        while True:
            media_id = await self._queue.get()
            try:
                if media_id is None:
                    return
                self._queued.discard(media_id)
                await self.analyse(media_id)
            except Exception:
                log.exception("analysis of a recording failed unexpectedly")
            finally:
                self._queue.task_done()
                self.claims.wake()  # room for one more

    async def _call(self, fn: Any, *args: Any) -> Report:
        assert self._pool is not None
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(
                loop.run_in_executor(self._pool, fn, *args), JOB_TIMEOUT_S
            )
        except concurrent.futures.process.BrokenProcessPool:
            self._pool = self._new_pool()  # a decoder crashed its process: start afresh
            return Report(failure="the analysis process crashed on this file")
        except TimeoutError:
            return Report(failure=f"analysis took longer than {JOB_TIMEOUT_S:.0f} s")

    async def _stage(self, media_id: uuid.UUID, stage: str, progress: float) -> None:
        async with self.bench.database.session() as db:
            media = await db.get(Media, media_id)
            if media is not None:
                media.stage, media.progress = stage, progress

    async def analyse(self, media_id: uuid.UUID) -> None:
        """Claim and analyse one recording end to end; every failure ends as `failed` with a
        reason. A recording another analyser holds is left to it."""
        await self.claims.work_on(media_id, self._analyse, working=self._working)

    async def _analyse(self, media_id: uuid.UUID) -> None:
        async with self.bench.database.session() as db:
            media = await db.get(Media, media_id)
            if media is None or media.status != "processing":
                return
            claimed, owner, key = media.kind, media.owner_id, media.storage_key
            size = media.size
            data_key = await service.data_key_for(db, self.lib, owner)
        work = self.work_dir / f"{media_id}-{secrets.token_hex(4)}"
        try:
            await self._stage(media_id, "probe", 0.1)
            await service.decrypt_to_file(
                self.lib, work, data_key=data_key, key=key, object_id=media_id.bytes, size=size
            )
            report = await self._call(probe_file, str(work), claimed)
            if report.failure is None:
                await self._stage(media_id, "track", 0.5)
                track = (
                    await self._call(extract_track, str(work))
                    if report.kind == "video"
                    else Report()
                )
                if track.failure:
                    report.warnings.append(f"track: {track.failure}")
                else:
                    report.source_format, report.points = track.source_format, track.points
                    report.gsensor, report.peaks = track.gsensor, track.peaks
                    report.warnings += track.warnings
        except Exception as exc:
            log.exception("analysis error")
            report = Report(failure=f"analysis error: {_why(exc)}")
        finally:
            await asyncio.to_thread(work.unlink, missing_ok=True)
        await self._save(media_id, report, data_key)

    async def _save(self, media_id: uuid.UUID, report: Report, data_key: bytes) -> None:
        stored_events: list[Event] = []
        playable_copy = False
        async with self.bench.database.session() as db:
            media = await db.get(Media, media_id)
            if media is None:
                return  # deleted while we worked
            if not self.claims.holds(media.analysis_claimed_by):
                log.warning("analysis taken over meanwhile", extra={"media_id": str(media_id)})
                return
            if report.failure:
                media.status, media.failure_reason = "failed", report.failure[:500]
                media.stage, media.progress = "done", 1.0
                log.info("recording analysis failed", extra={"media_id": str(media_id)})
                return
            if not report.points:
                # A fix the device sent with the file (JT/T 808 0x0801) is its track.
                sent = (
                    await db.execute(
                        select(MediaTrack.source_format, MediaTrack.points).where(
                            MediaTrack.media_id == media.id
                        )
                    )
                ).first()
                if sent is not None and sent.points:
                    report.source_format, report.points = sent.source_format, list(sent.points)
            media.kind = report.kind
            media.duration_s = report.duration_s
            media.probe = report.probe
            if needs_copy(report.kind, report.probe):
                playable_copy = derivatives.request(media, derivatives.PLAYABLE)
            media.start_time = _start_time(report)
            if report.thumbnail:
                thumb = service.object_key(media.owner_id, f"{media.id}.thumb")
                await service.put_object(
                    self.lib,
                    data_key=data_key,
                    key=thumb,
                    object_id=service.thumbnail_object_id(media.id),
                    chunks=_once(report.thumbnail),
                    limit=len(report.thumbnail),
                )
                media.thumbnail_key = thumb
            await db.execute(delete(MediaTrack).where(MediaTrack.media_id == media.id))
            db.add(
                MediaTrack(
                    media_id=media.id,
                    source_format=report.source_format,
                    points=report.points,
                    gsensor=_gsensor_series(report.gsensor),
                    warnings=report.warnings[:50],
                )
            )
            media.track_points = len(report.points)
            media.event_count = len(report.peaks)
            if report.peaks and media.category != "locked":
                media.category = "locked"  # evidence of an incident is kept for a year
            stored_events = await _record_peaks(db, media, report, self.bench.clock())
            await _group(db, media)
            media.status, media.stage, media.progress = "ready", "done", 1.0
        if playable_copy:  # browsers cannot play it: the transcoder makes an H.264 copy
            derivatives.submit(self.lib, media_id, derivatives.PLAYABLE)
        if stored_events and self.events_stored is not None:
            self.events_stored(stored_events)


async def _once(data: bytes) -> Any:
    yield data


def _start_time(report: Report) -> datetime | None:
    for offset, time, *_rest in report.points:
        if time:
            return datetime.fromisoformat(time) - timedelta(seconds=offset)
    return report.created


def _gsensor_series(samples: list[tuple[float, float, float, float]]) -> dict[str, Any]:
    kept = downsample(samples, MAX_STORED_GSENSOR)
    return {
        "offsets": [round(s[0], 3) for s in kept],
        "x": [round(s[1], 3) for s in kept],
        "y": [round(s[2], 3) for s in kept],
        "z": [round(s[3], 3) for s in kept],
    }


def _nearest_point(points: list[list[Any]], offset: float) -> list[Any] | None:
    if not points:
        return None
    return min(points, key=lambda p: abs(p[0] - offset))


async def _record_peaks(
    db: AsyncSession, media: Media, report: Report, now: datetime
) -> list[Event]:
    """One event per peak, for recordings of a known device; a repeat is a no-op."""
    if media.device_id is None:
        return []
    base = media.start_time or media.created_at
    made = []
    for peak in report.peaks:
        cause = f"gsensor:{media.id}:{peak.offset_s:.3f}"
        exists = await db.scalar(
            select(Event.id).where(Event.device_id == media.device_id, Event.cause == cause)
        )
        if exists is not None:
            continue
        near = _nearest_point(report.points, peak.offset_s)
        event = Event(
            organization_id=media.organization_id,
            device_id=media.device_id,
            type=peak.type,
            time=base + timedelta(seconds=peak.offset_s),
            urgent=peak.type == "collision",
            latitude=near[2] if near else None,
            longitude=near[3] if near else None,
            cause=cause,
            attributes={"media_id": str(media.id), "offset_s": peak.offset_s, "peak_g": peak.g},
            created_at=now,
        )
        db.add(event)
        made.append(event)
    await db.flush()
    return made


GROUP_WINDOW = timedelta(seconds=3)


async def _group(db: AsyncSession, media: Media) -> None:
    """Join the front/rear/cabin files of the same moment: same device (or same owner when
    no device), another channel, a start within a few seconds."""
    if media.start_time is None or media.channel == "unknown":
        return
    query = select(Media).where(
        Media.id != media.id,
        Media.organization_id == media.organization_id,
        Media.channel != media.channel,
        Media.channel != "unknown",
        Media.start_time >= media.start_time - GROUP_WINDOW,
        Media.start_time <= media.start_time + GROUP_WINDOW,
    )
    if media.device_id is not None:
        query = query.where(Media.device_id == media.device_id)
    else:
        query = query.where(Media.owner_id == media.owner_id, Media.device_id.is_(None))
    siblings = list(await db.scalars(query))
    if not siblings:
        return
    group = next((s.group_id for s in siblings if s.group_id), None) or uuid.uuid4()
    media.group_id = group
    for sibling in siblings:
        sibling.group_id = sibling.group_id or group
