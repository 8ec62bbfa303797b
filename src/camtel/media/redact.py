"""Redaction: faces and licence plates blurred in a copy of a video or photo before it is shared.

The decisions are pure and tested without I/O: `detect` (media/detect.py) finds regions in one
image, `padded` (media/redact_boxes.py) adds a safety margin, `blur_regions` pixelates and
smooths them, and `Hold` (media/redact_boxes.py) spreads each detection over the frames around
it so a face the detector misses for a frame or two is still covered. `redact_file` wraps them
thinly: PyAV decodes the first video stream and re-encodes only that (no audio, no metadata, no
data tracks), or OpenCV decodes a photo and writes a bare JPEG. When in doubt it blurs: a false
positive costs a blurry patch, a miss leaks a face.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from camtel.media import encode
from camtel.media.detect import DetectorMissing, detect, detect_gray
from camtel.media.encode import Frames, Mp4Writer, Picture, join, planes
from camtel.media.redact_boxes import Box, Hold, merge, padded, scale

log = logging.getLogger(__name__)

PIXEL_BLOCKS = 6  # blocks along the region's short side after pixelation
VIDEO_DETECT_WIDTH = 512  # plates are searched on frames scaled down to this width...
VIDEO_FACE_WIDTH = 1920  # ...and faces on frames at most this wide (docs/performance.md)
PHOTO_DETECT_WIDTH = 1600
DETECT_EVERY = 3  # detection runs on every third video frame...
HOLD_BEFORE = DETECT_EVERY  # ...and each find covers the frames since the previous run
HOLD_AFTER = 2 * DETECT_EVERY  # ...and the next two runs, should both miss it
DETECTORS = max(1, os.cpu_count() or 1)  # detection threads for one video
IN_FLIGHT = 2 * DETECTORS * DETECT_EVERY  # frames decoded ahead, waiting for their detection
JPEG_QUALITY = 90
PRESET = encode.PRESET  # x264's speed for redacted copies
MAX_DECODE_LOSS = 0.02  # of the frames the container announces, before the file counts as cut


class RedactionError(Exception):
    """The input cannot be redacted: unreadable, truncated or not the claimed kind."""


@dataclasses.dataclass(frozen=True, slots=True)
class RedactionReport:
    """What redacting one file did."""

    kind: str  # "video" | "photo"
    frames: int  # frames written (1 for a photo)
    faces: int  # face detections (summed over frames)
    plates: int  # plate detections (summed over frames)
    blurred_frames: int  # frames in which at least one region was blurred
    width: int
    height: int
    seconds: float  # wall time


# Blurring


def blur_regions(image: np.ndarray, boxes: list[Box]) -> np.ndarray:
    """A copy of the image (grey or colour) with every box reduced to a few smooth blocks.

    Each region is averaged down to about PIXEL_BLOCKS blocks across its short side, which
    throws the detail away for good (a Gaussian blur alone can be partly undone), then scaled
    back up bilinearly so no block edges show. Pixels outside the boxes are left as they were.
    """
    out = image.copy()
    height, width = image.shape[:2]
    for box in boxes:
        x0, y0 = max(0, box.x), max(0, box.y)
        x1, y1 = min(width, box.x + box.w), min(height, box.y + box.h)
        w, h = x1 - x0, y1 - y0
        if w <= 0 or h <= 0:
            continue
        block = max(2.0, min(w, h) / PIXEL_BLOCKS)
        small = cv2.resize(
            out[y0:y1, x0:x1],
            (max(1, round(w / block)), max(1, round(h / block))),
            interpolation=cv2.INTER_AREA,
        )
        smooth = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
        out[y0:y1, x0:x1] = smooth.reshape(out[y0:y1, x0:x1].shape)
    return out


# Files


def _detected(
    find: Callable[..., list[Box]], image: np.ndarray, max_width: int, face_width: int
) -> list[Box]:
    """Boxes found in an image; a missing detector fails the redaction, never the worker."""
    try:
        return find(image, max_width=max_width, face_width=face_width)
    except DetectorMissing as exc:
        raise RedactionError(str(exc)) from exc


def redact_file(
    src: Path, dst: Path, kind: str, *, progress: Callable[[float], None] | None = None
) -> RedactionReport:
    """Write a redacted copy of `src` to `dst`: an MP4 for a video, a JPEG for a photo.

    Synchronous (callers run it in a thread). A video becomes H.264 (yuv420p, +faststart) with
    no audio, metadata, subtitle or data stream; a photo becomes a JPEG with no EXIF. `dst`
    appears only when the whole copy is written. Raises RedactionError for unusable input.
    """
    if kind not in ("video", "photo"):
        raise RedactionError(f"cannot redact a {kind!r}: only 'video' and 'photo'")
    try:
        size = src.stat().st_size
    except OSError as exc:
        raise RedactionError(f"cannot read the file: {exc.strerror}") from exc
    if size == 0:
        raise RedactionError("the file is empty")
    started = time.perf_counter()
    part = dst.with_name(f".{dst.name}.{secrets.token_hex(4)}.part")
    try:
        redact = _redact_photo if kind == "photo" else _redact_video
        report = redact(src, part, progress)
        os.replace(part, dst)
    finally:
        part.unlink(missing_ok=True)
    report = dataclasses.replace(report, seconds=time.perf_counter() - started)
    log.info(
        "redacted",
        extra={"kind": kind, "frames": report.frames, "faces": report.faces,
               "plates": report.plates, "seconds": round(report.seconds, 2)},
    )  # fmt: skip
    return report


def _redact_photo(
    src: Path, dst: Path, progress: Callable[[float], None] | None
) -> RedactionReport:
    data = np.fromfile(src, dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)  # applies and drops the EXIF orientation
    if image is None:
        raise RedactionError("not a readable image (JPEG or PNG expected)")
    height, width = image.shape[:2]
    found = _detected(detect, image, PHOTO_DETECT_WIDTH, PHOTO_DETECT_WIDTH)
    if found:
        image = blur_regions(image, padded(found, width, height))
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise RedactionError("the redacted image could not be encoded")
    dst.write_bytes(encoded.tobytes())
    if progress is not None:
        progress(1.0)
    faces = sum(b.kind == "face" for b in found)
    return RedactionReport(
        "photo", 1, faces, len(found) - faces, int(bool(found)), width, height, 0.0
    )


def _blur_yuv(data: np.ndarray, width: int, height: int, boxes: list[Box]) -> np.ndarray:
    y, u, v = planes(data, width, height)
    chroma = [scale(b, 0.5) for b in boxes]
    return join(blur_regions(y, boxes), blur_regions(u, chroma), blur_regions(v, chroma))


def _open(src: Path) -> Any:
    import av

    try:
        return av.open(str(src))
    except Exception as exc:  # PyAV raises many types for bad input
        raise RedactionError(f"not a readable video: {_why(exc)}") from exc


def _why(exc: BaseException) -> str:
    return (str(exc).strip() or type(exc).__name__)[:300]


def _decoded(container: Any, stream: Any) -> Iterator[Any]:
    try:
        yield from container.decode(stream)
    except Exception as exc:
        raise RedactionError(f"the video cannot be decoded: {_why(exc)}") from exc


def _write(writer: Mp4Writer, picture: Picture, boxes: list[Box]) -> int:
    """Blur the boxes in the picture and write it; 1 when something was blurred."""
    if not boxes:
        writer.write(picture)
        return 0
    # held boxes of a moving face overlap: their union (the swept area) is blurred once
    regions = merge(padded(boxes, writer.width, writer.height), threshold=0.0)
    writer.write(
        Picture(_blur_yuv(picture.data, writer.width, writer.height, regions), picture.pts)
    )
    return 1


@dataclasses.dataclass(slots=True)
class _Tally:
    faces: int = 0
    plates: int = 0
    blurred: int = 0


def _settle(
    item: tuple[Picture, Future[list[Box]] | None],
    hold: Hold[Picture],
    writer: Mp4Writer,
    tally: _Tally,
) -> None:
    """Hand the oldest frame, with its detection once finished, to the hold and the writer."""
    picture, search = item
    found = None
    if search is not None:
        found = search.result()
        tally.faces += sum(b.kind == "face" for b in found)
        tally.plates += sum(b.kind == "plate" for b in found)
    for ready, boxes in hold.push(picture, found):
        tally.blurred += _write(writer, ready, boxes)


def _redact_video(
    src: Path, dst: Path, progress: Callable[[float], None] | None
) -> RedactionReport:
    with _open(src) as source:
        if not source.streams.video:
            raise RedactionError("the file has no video stream")
        stream = source.streams.video[0]
        stream.thread_type = "AUTO"
        announced = stream.frames or 0
        frames = Frames(stream, error=RedactionError)
        hold: Hold[Picture] = Hold(before=HOLD_BEFORE, after=HOLD_AFTER)
        tally = _Tally()
        # Detection (OpenCV, which lets go of the GIL) runs on every core while this thread
        # decodes and encodes; frames wait in order for their detection before the hold.
        detectors = ThreadPoolExecutor(DETECTORS, thread_name_prefix="redact-detect")
        in_flight: deque[tuple[Picture, Future[list[Box]] | None]] = deque()
        writer: Mp4Writer | None = None
        try:
            for index, frame in enumerate(_decoded(source, stream)):
                picture = frames.picture(frame)
                if writer is None:
                    writer = Mp4Writer(
                        dst,
                        width=frames.width,
                        height=frames.height,
                        rate=frames.rate,
                        time_base=frames.time_base,
                        preset=PRESET,
                    )
                search = None
                if index % DETECT_EVERY == 0:
                    luma = planes(picture.data, writer.width, writer.height)[0].copy()
                    search = detectors.submit(
                        _detected, detect_gray, luma, VIDEO_DETECT_WIDTH, VIDEO_FACE_WIDTH
                    )
                in_flight.append((picture, search))
                while len(in_flight) > IN_FLIGHT:
                    _settle(in_flight.popleft(), hold, writer, tally)
                if progress is not None and announced and index % 10 == 0:
                    progress(min(0.99, index / announced))
            if writer is None:
                raise RedactionError("the video has no decodable frame")
            while in_flight:
                _settle(in_flight.popleft(), hold, writer, tally)
            for ready, boxes in hold.flush():
                tally.blurred += _write(writer, ready, boxes)
            writer.finish()
        finally:
            detectors.shutdown(cancel_futures=True)
            if writer is not None:
                writer.close()
    if announced and writer.frames < announced * (1 - MAX_DECODE_LOSS) - 1:
        raise RedactionError(
            f"only {writer.frames} of {announced} frames could be decoded (truncated or damaged)"
        )
    if progress is not None:
        progress(1.0)
    return RedactionReport(
        "video",
        writer.frames,
        tally.faces,
        tally.plates,
        tally.blurred,
        writer.width,
        writer.height,
        0.0,
    )
