"""Faces and licence plates in one image, with OpenCV's cascades and a shape test for plates.

Tuned for recall over precision: a false positive costs a blurry patch in a redacted copy, a
miss leaks a face. Detection can run on a smaller copy of the image (`max_width`); the boxes
come back in the image's own pixels. Each thread keeps its own classifiers.
"""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from camtel.media.redact_boxes import Box, merge, scale


class DetectorMissing(Exception):
    """OpenCV has no cascade file this detector needs."""


@dataclasses.dataclass(slots=True)
class _Cascades:
    frontal: Any
    profile: Any
    plate: Any


_local = threading.local()  # a CascadeClassifier keeps per-image state: one set per thread


def _cascades() -> _Cascades:
    found = getattr(_local, "cascades", None)
    if found is None:
        # cv2.data, the cascade files' folder, is missing from OpenCV's stubs.
        folder = Path(cv2.data.haarcascades)  # type: ignore[attr-defined]
        loaded = []
        for name in (
            "haarcascade_frontalface_default.xml",
            "haarcascade_profileface.xml",
            "haarcascade_russian_plate_number.xml",
        ):
            cascade = cv2.CascadeClassifier(str(folder / name))
            if cascade.empty():
                raise DetectorMissing(f"the OpenCV cascade {name} is missing (opencv < 5 needed)")
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
