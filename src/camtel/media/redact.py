"""Redaction: faces and licence plates blurred in a copy of a video or photo before it is shared.

The decisions are pure and tested without I/O: `detect` finds regions in one image, `expand`
adds a safety margin, `blur_regions` pixelates and smooths them, and `Hold` spreads each
detection over the frames around it so a face the detector misses for a frame or two is still
covered. `redact_file` wraps them thinly: PyAV decodes the first video stream and re-encodes
only that (no audio, no metadata, no data tracks), or OpenCV decodes a photo and writes a bare
JPEG. When in doubt it blurs: a false positive costs a blurry patch, a miss leaks a face.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Generic, TypeVar

import cv2
import numpy as np

from camtel.media import encode
from camtel.media.encode import Frames, Mp4Writer, Picture, join, planes

log = logging.getLogger(__name__)

FACE_MARGIN = 0.3  # of the box size, on every side: hair, ears, a turning head
PLATE_MARGIN = 0.25
PIXEL_BLOCKS = 6  # blocks along the region's short side after pixelation
VIDEO_DETECT_WIDTH = 512  # detection runs on frames scaled down to this width
PHOTO_DETECT_WIDTH = 1600
DETECT_EVERY = 3  # detection runs on every third video frame...
HOLD_BEFORE = DETECT_EVERY  # ...and each find covers the frames since the previous run
HOLD_AFTER = 2 * DETECT_EVERY  # ...and the next two runs, should both miss it
DETECTORS = max(1, os.cpu_count() or 1)  # detection threads for one video
IN_FLIGHT = 2 * DETECTORS * DETECT_EVERY  # frames decoded ahead, waiting for their detection
JPEG_QUALITY = 90
PRESET = encode.PRESET  # x264's speed for redacted copies
MAX_DECODE_LOSS = 0.02  # of the frames the container announces, before the file counts as cut

T = TypeVar("T")


class RedactionError(Exception):
    """The input cannot be redacted: unreadable, truncated or not the claimed kind."""


@dataclasses.dataclass(frozen=True, slots=True)
class Box:
    """A region to blur, in pixels of the image it was found in."""

    x: int
    y: int
    w: int
    h: int
    kind: str  # "face" | "plate"


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


# Pure decisions


def expand(box: Box, width: int, height: int, margin: float) -> Box:
    """The box grown by `margin` of its size on every side, clipped to the image."""
    dx, dy = round(box.w * margin), round(box.h * margin)
    x0, y0 = max(0, box.x - dx), max(0, box.y - dy)
    x1, y1 = min(width, box.x + box.w + dx), min(height, box.y + box.h + dy)
    return Box(x0, y0, max(0, x1 - x0), max(0, y1 - y0), box.kind)


def scale(box: Box, factor: float) -> Box:
    """The box in an image `factor` times the size, rounded outwards."""
    x0, y0 = int(box.x * factor), int(box.y * factor)
    x1 = int(np.ceil((box.x + box.w) * factor))
    y1 = int(np.ceil((box.y + box.h) * factor))
    return Box(x0, y0, x1 - x0, y1 - y0, box.kind)


def _overlap(a: Box, b: Box) -> float:
    """Intersection over the smaller box (1.0 when one holds the other)."""
    w = min(a.x + a.w, b.x + b.w) - max(a.x, b.x)
    h = min(a.y + a.h, b.y + b.h) - max(a.y, b.y)
    if w <= 0 or h <= 0:
        return 0.0
    return w * h / max(1, min(a.w * a.h, b.w * b.h))


def merge(boxes: list[Box], threshold: float = 0.5) -> list[Box]:
    """Same-kind boxes overlapping by more than `threshold` become their union."""
    out: list[Box] = []
    for box in sorted(boxes, key=lambda b: -b.w * b.h):
        for i, kept in enumerate(out):
            if kept.kind == box.kind and _overlap(kept, box) > threshold:
                x0, y0 = min(kept.x, box.x), min(kept.y, box.y)
                x1 = max(kept.x + kept.w, box.x + box.w)
                y1 = max(kept.y + kept.h, box.y + box.h)
                out[i] = Box(x0, y0, x1 - x0, y1 - y0, kept.kind)
                break
        else:
            out.append(box)
    return out


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


class Hold(Generic[T]):
    """Spreads the boxes found in frame N over frames N-before … N+after, in frame order.

    Frames go in with `push(item, found)` (`found` is None on frames not examined) and come out
    `before` frames later with every box that covers them; `flush()` lets the last ones out.
    """

    def __init__(self, *, before: int, after: int) -> None:
        self.before, self.after = before, after
        self._waiting: deque[tuple[T, list[Box]]] = deque()
        self._held: deque[tuple[int, list[Box]]] = deque()  # (last frame covered, boxes)
        self._index = -1

    def push(self, item: T, found: list[Box] | None) -> list[tuple[T, list[Box]]]:
        self._index += 1
        while self._held and self._held[0][0] < self._index:
            self._held.popleft()
        boxes = [box for _, held in self._held for box in held]
        if found:
            boxes += found
            for _, earlier in self._waiting:
                earlier.extend(found)
            self._held.append((self._index + self.after, list(found)))
        self._waiting.append((item, boxes))
        if len(self._waiting) > self.before:
            return [self._waiting.popleft()]
        return []

    def flush(self) -> list[tuple[T, list[Box]]]:
        out = list(self._waiting)
        self._waiting.clear()
        return out


# Detection


@dataclasses.dataclass(slots=True)
class _Cascades:
    frontal: Any
    profile: Any
    plate: Any


_local = threading.local()  # a CascadeClassifier keeps per-image state: one set per thread


def _cascades() -> _Cascades:
    found = getattr(_local, "cascades", None)
    if found is None:
        folder = Path(cv2.data.haarcascades)  # type: ignore[attr-defined]
        loaded = []
        for name in (
            "haarcascade_frontalface_default.xml",
            "haarcascade_profileface.xml",
            "haarcascade_russian_plate_number.xml",
        ):
            cascade = cv2.CascadeClassifier(str(folder / name))
            if cascade.empty():
                raise RedactionError(f"the OpenCV cascade {name} is missing (opencv < 5 needed)")
            loaded.append(cascade)
        found = _local.cascades = _Cascades(*loaded)
    return found


def _boxes(found: Any, kind: str, *, mirrored_width: int | None = None) -> list[Box]:
    out = []
    for x, y, w, h in found:
        if mirrored_width is not None:
            x = mirrored_width - x - w
        out.append(Box(int(x), int(y), int(w), int(h), kind))
    return out


def _faces(gray: np.ndarray) -> list[Box]:
    cascades = _cascades()
    # Low minNeighbors: the cascades are tuned for precision, and here recall matters more.
    frontal = {"scaleFactor": 1.15, "minNeighbors": 3, "minSize": (20, 20)}
    profile = {"scaleFactor": 1.2, "minNeighbors": 3, "minSize": (20, 20)}
    flipped = cv2.flip(gray, 1)  # the profile cascade only knows faces turned one way
    return [
        *_boxes(cascades.frontal.detectMultiScale(gray, **frontal), "face"),
        *_boxes(cascades.profile.detectMultiScale(gray, **profile), "face"),
        *_boxes(
            cascades.profile.detectMultiScale(flipped, **profile),
            "face",
            mirrored_width=gray.shape[1],
        ),
    ]


def _has_characters(crop: np.ndarray) -> bool:
    """Whether a candidate looks like a row of characters: many dark/light changes across."""
    if crop.size == 0 or float(crop.std()) < 20:
        return False
    _, binary = cv2.threshold(crop, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    rows = binary[crop.shape[0] // 3 : max(crop.shape[0] // 3 + 1, 2 * crop.shape[0] // 3)]
    changes = np.count_nonzero(np.diff(rows.astype(np.int8), axis=1), axis=1)
    return float(np.median(changes)) >= 8


def _plates_by_shape(gray: np.ndarray) -> list[Box]:
    """Plates of any country: a compact band of dense vertical strokes (the characters).

    Black-hat and top-hat bring out dark-on-light and light-on-dark characters, the horizontal
    gradient keeps the vertical strokes, and a wide closing joins a row of them into one blob;
    blobs of a plate's shape and size with many stroke changes inside are kept.
    """
    height, width = gray.shape
    strokes = cv2.getStructuringElement(cv2.MORPH_RECT, (15, 5))
    hats = cv2.max(
        cv2.morphologyEx(gray, cv2.MORPH_BLACKHAT, strokes),
        cv2.morphologyEx(gray, cv2.MORPH_TOPHAT, strokes),
    )
    gradient = np.abs(cv2.Sobel(hats, cv2.CV_32F, 1, 0, ksize=3))
    gradient = cv2.normalize(gradient, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    gradient = cv2.GaussianBlur(gradient, (5, 5), 0)
    joined = cv2.morphologyEx(
        gradient, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (17, 3))
    )
    _, mask = cv2.threshold(joined, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    mask = cv2.dilate(cv2.erode(mask, None, iterations=1), None, iterations=2)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    found = []
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        if not (8 <= h <= height // 5 and 30 <= w <= width // 2 and 2 <= w / h <= 8):
            continue
        if _has_characters(gray[y : y + h, x : x + w]):
            # the blob is the characters: the plate around them is taller
            top = max(0, y - h // 4)
            found.append(Box(x, top, w, min(height, y + h + h // 4) - top, "plate"))
    return found


def _has_strokes(crop: np.ndarray) -> bool:
    """Whether a region has the vertical edges characters make (a smooth blob shows nothing)."""
    return crop.size > 0 and float(np.abs(cv2.Sobel(crop, cv2.CV_32F, 1, 0)).mean()) >= 10


def _plates(gray: np.ndarray) -> list[Box]:
    cascade = _cascades().plate.detectMultiScale(
        gray, scaleFactor=1.15, minNeighbors=3, minSize=(30, 10)
    )
    # The cascade also fires on bare bright rectangles, such as a plate already blurred.
    strokes = [
        b for b in _boxes(cascade, "plate") if _has_strokes(gray[b.y : b.y + b.h, b.x : b.x + b.w])
    ]
    return [*strokes, *_plates_by_shape(gray)]


def detect_gray(gray: np.ndarray, *, max_width: int | None = None) -> list[Box]:
    """Faces and plates in a greyscale image, detected at most `max_width` wide."""
    factor = 1.0
    if max_width is not None and gray.shape[1] > max_width:
        factor = max_width / gray.shape[1]
        size = (max_width, max(1, round(gray.shape[0] * factor)))
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    gray = np.ascontiguousarray(gray)
    found = merge([*_faces(cv2.equalizeHist(gray)), *_plates(gray)])
    if factor != 1.0:
        found = [scale(box, 1 / factor) for box in found]
    return found


def detect(frame_bgr: np.ndarray, *, max_width: int | None = None) -> list[Box]:
    """Faces and plates in a BGR image (OpenCV's layout), in its pixel coordinates."""
    return detect_gray(cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY), max_width=max_width)


def padded(boxes: list[Box], width: int, height: int) -> list[Box]:
    """Each box with its kind's safety margin."""
    return [
        expand(b, width, height, FACE_MARGIN if b.kind == "face" else PLATE_MARGIN) for b in boxes
    ]


# Files


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
    found = detect(image, max_width=PHOTO_DETECT_WIDTH)
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
                    search = detectors.submit(detect_gray, luma, max_width=VIDEO_DETECT_WIDTH)
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
