"""Browser-playable copies: a recording whose codecs browsers cannot decode gets an H.264 MP4.

Dash cams write MPEG-4 Part 2, HEVC, MJPEG, AVI or MPEG-TS files that Chromium's `<video>`
refuses. `browser_playable` decides from the analysis probe, without I/O; `transcode_file`
writes the copy (H.264 yuv420p with the sound as AAC, fast start, no metadata) and is run in
a thread by the background worker (camtel.media.derivatives), never while a request waits.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from camtel.media.encode import Frames, Mp4Writer

log = logging.getLogger(__name__)

#: Containers as PyAV names them → the family a browser knows them as.
FAMILIES = {"mov,mp4,m4a,3gp,3g2,mj2": "mp4", "matroska,webm": "webm"}
#: Video codecs every current browser engine plays, per container family.
VIDEO_CODECS = {"mp4": {"h264", "av1", "vp9"}, "webm": {"vp8", "vp9", "av1"}}
#: H.264 only plays as 8-bit 4:2:0 (no High 10, 4:2:2 or 4:4:4).
H264_PIXELS = {"yuv420p", "yuvj420p"}
SOUND_CODECS = {
    "mp4": {"aac", "mp3", "opus", "flac", "pcm_s16le", "pcm_u8", "pcm_alaw", "pcm_mulaw"},
    "webm": {"opus", "vorbis"},
}
MAX_DECODE_LOSS = 0.02  # of the frames the container announces, before the file counts as cut


class TranscodeError(Exception):
    """The input cannot be turned into a playable copy: unreadable, truncated, no video."""


@dataclass(frozen=True, slots=True)
class TranscodeReport:
    frames: int
    width: int
    height: int
    sound: bool
    seconds: float  # wall time


# Pure decision


def browser_playable(probe: dict[str, Any]) -> bool:
    """Whether a browser's `<video>` plays the recording as it is (from the analysis probe):
    H.264, AV1 or VP9 in MP4, VP8, VP9 or AV1 in WebM, with sound it knows (or none).
    Anything unsure (no probe, an unknown container or codec) counts as not playable."""
    family = FAMILIES.get(str(probe.get("container") or ""))
    if family is None:
        return False
    codec = probe.get("video_codec")
    if codec not in VIDEO_CODECS[family]:
        return False
    if codec == "h264" and probe.get("pix_fmt") not in (None, *H264_PIXELS):
        return False
    sound = probe.get("audio_codec")
    return sound is None or sound in SOUND_CODECS[family]


def sound_layout(name: str, channels: int) -> str:
    """The AAC channel layout for a source's: its own when it has a name, else mono or
    stereo by count (dash cams often leave the layout unnamed: "1 channels")."""
    if name and not name.endswith("channels"):
        return name
    return "mono" if channels == 1 else "stereo"


def needs_copy(kind: str, probe: dict[str, Any]) -> bool:
    """Whether a recording gets a playable copy: a video a browser cannot play. Photos never
    do (the thumbnail shows them)."""
    return kind == "video" and not browser_playable(probe)


# The copy


def transcode_file(
    src: Path, dst: Path, kind: str, *, progress: Callable[[float], None] | None = None
) -> TranscodeReport:
    """Write a playable copy of the video `src` to `dst` (appears only when complete).

    Synchronous (callers run it in a thread). The first video stream becomes H.264 yuv420p,
    turned upright, with its frame times; the first audio stream, if any, becomes AAC. Data
    tracks (GPS, G-sensor) and metadata are left out: the player reads the track from the
    database. Raises TranscodeError for unusable input."""
    if kind != "video":
        raise TranscodeError(f"only videos get a playable copy, not a {kind!r}")
    if not src.exists() or src.stat().st_size == 0:
        raise TranscodeError("the file is empty")
    started = time.perf_counter()
    part = dst.with_name(f".{dst.name}.{secrets.token_hex(4)}.part")
    try:
        frames, width, height, sound = _transcode(src, part, progress)
        os.replace(part, dst)
    finally:
        part.unlink(missing_ok=True)
    report = TranscodeReport(frames, width, height, sound, time.perf_counter() - started)
    log.info("playable copy written", extra={"frames": frames, "seconds": round(report.seconds, 2)})
    return report


def _why(exc: BaseException) -> str:
    return (str(exc).strip() or type(exc).__name__)[:300]


def _packets(source: Any, streams: list[Any]) -> Iterator[Any]:
    try:
        yield from source.demux(*streams)
    except Exception as exc:  # PyAV raises many types for bad input
        raise TranscodeError(f"the video cannot be read: {_why(exc)}") from exc


def _transcode(
    src: Path, dst: Path, progress: Callable[[float], None] | None
) -> tuple[int, int, int, bool]:
    import av

    try:
        source = av.open(str(src))
    except Exception as exc:
        raise TranscodeError(f"not a readable video: {_why(exc)}") from exc
    with source:
        if not source.streams.video:
            raise TranscodeError("the file has no video stream")
        video = source.streams.video[0]
        video.thread_type = "AUTO"
        audio = source.streams.audio[0] if source.streams.audio else None
        announced = video.frames or 0
        frames = Frames(video, error=TranscodeError)
        sound = None
        if audio is not None and audio.rate and audio.channels:
            sound = (int(audio.rate), sound_layout(audio.layout.name, audio.channels))
        writer: Mp4Writer | None = None
        early: list[Any] = []  # sound decoded before the first picture fixed the output size
        skipped = 0
        try:
            for packet in _packets(source, [video] if audio is None else [video, audio]):
                if packet.stream is video:
                    try:
                        decoded = packet.decode()
                    except Exception as exc:
                        raise TranscodeError(f"the video cannot be decoded: {_why(exc)}") from exc
                    for frame in decoded:
                        picture = frames.picture(frame)
                        if writer is None:
                            writer = Mp4Writer(
                                dst,
                                width=frames.width,
                                height=frames.height,
                                rate=frames.rate,
                                time_base=frames.time_base,
                                sound=sound,
                            )
                            for held in early:
                                writer.write_sound(held)
                            early.clear()
                        writer.write(picture)
                        if progress is not None and announced and writer.frames % 10 == 0:
                            progress(min(0.99, writer.frames / announced))
                    continue
                try:
                    heard = packet.decode()
                except Exception:  # a damaged sound packet is skipped: the picture matters
                    skipped += 1
                    heard = []
                for frame in heard:
                    if writer is None:
                        early.append(frame)
                    else:
                        writer.write_sound(frame)
            if writer is None:
                raise TranscodeError("the video has no decodable frame")
            writer.finish()
        finally:
            if writer is not None:
                writer.close()
    if announced and writer.frames < announced * (1 - MAX_DECODE_LOSS) - 1:
        raise TranscodeError(
            f"only {writer.frames} of {announced} frames could be decoded (truncated or damaged)"
        )
    if skipped:
        log.info("damaged sound packets skipped", extra={"packets": skipped})
    if progress is not None:
        progress(1.0)
    return writer.frames, writer.width, writer.height, sound is not None
