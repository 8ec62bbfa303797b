"""Faces and licence plates in one image: faces by CenterFace, plates by a cascade and a shape test.

Tuned for recall over precision: a false positive costs a blurry patch in a redacted copy, a
miss leaks a face. Faces are found by a small neural network (media/centerface.py); it replaced
OpenCV's Haar cascades, finding 78 % of bench/faces.py's faces where they found 17 %, small,
rolled and covered ones above all (docs/performance.md). Detection can run on a smaller copy
of the image (`max_width` for plates, `face_width` for faces); the boxes come back in the
image's own pixels. Each thread keeps its own plate classifier; the threads share the network.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from camtel.media import centerface
from camtel.media.redact_boxes import Box, merge, scale


class DetectorMissing(Exception):
    """A file this detector needs is missing: OpenCV's plate cascade or the face model."""


_local = threading.local()  # a CascadeClassifier keeps per-image state: one per thread
_network: centerface.Network | None = None  # shared by the threads: it is big (centerface.py)
_network_lock = threading.Lock()


def _cascades() -> Any:
    """The plate cascade of this thread."""
    found = getattr(_local, "plate", None)
    if found is None:
        # cv2.data, the cascade files' folder, is missing from OpenCV's stubs.
        folder = Path(cv2.data.haarcascades)  # type: ignore[attr-defined]
        name = "haarcascade_russian_plate_number.xml"
        found = cv2.CascadeClassifier(str(folder / name))
        if found.empty():
            raise DetectorMissing(f"the OpenCV cascade {name} is missing (opencv < 5 needed)")
        _local.plate = found
    return found


def _faces(gray: np.ndarray) -> list[Box]:
    global _network
    with _network_lock:
        if _network is None:
            try:
                _network = centerface.Network()
            except OSError as exc:
                raise DetectorMissing(f"the face model {centerface.MODEL.name} is missing") from exc
    return _network.faces(gray)


def _boxes(found: Any, kind: str) -> list[Box]:
    return [Box(int(x), int(y), int(w), int(h), kind) for x, y, w, h in found]


def _shrunk(gray: np.ndarray, width: int | None) -> tuple[np.ndarray, float]:
    """The image at most `width` wide, and the factor it was scaled by."""
    if width is None or gray.shape[1] <= width:
        return np.ascontiguousarray(gray), 1.0
    factor = width / gray.shape[1]
    size = (width, max(1, round(gray.shape[0] * factor)))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA), factor


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
    # OpenCV's stubs leave out the None that cv2 takes for `dst` and `kernel` (a 3x3 rectangle).
    gradient = cv2.normalize(gradient, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)  # type: ignore[call-overload]
    gradient = cv2.GaussianBlur(gradient, (5, 5), 0)
    joined = cv2.morphologyEx(
        gradient, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (17, 3))
    )
    _, mask = cv2.threshold(joined, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    mask = cv2.dilate(cv2.erode(mask, None, iterations=1), None, iterations=2)  # type: ignore[call-overload]
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
    cascade = _cascades().detectMultiScale(gray, scaleFactor=1.15, minNeighbors=3, minSize=(30, 10))
    # The cascade also fires on bare bright rectangles, such as a plate already blurred.
    strokes = [
        b for b in _boxes(cascade, "plate") if _has_strokes(gray[b.y : b.y + b.h, b.x : b.x + b.w])
    ]
    return [*strokes, *_plates_by_shape(gray)]


def detect_gray(
    gray: np.ndarray, *, max_width: int | None = None, face_width: int | None = None
) -> list[Box]:
    """Faces and plates in a greyscale image: plates searched at most `max_width` wide, faces
    at most `face_width` wide (default: `max_width`)."""
    if face_width is None:
        face_width = max_width
    found = []
    for find, width in ((_faces, face_width), (_plates, max_width)):
        image, factor = _shrunk(gray, width)
        boxes = find(image)
        found += boxes if factor == 1.0 else [scale(box, 1 / factor) for box in boxes]
    return merge(found)


def detect(
    frame_bgr: np.ndarray, *, max_width: int | None = None, face_width: int | None = None
) -> list[Box]:
    """Faces and plates in a BGR image (OpenCV's layout), in its pixel coordinates."""
    gray = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY)
    return detect_gray(gray, max_width=max_width, face_width=face_width)
