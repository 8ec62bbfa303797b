"""Blur boxes: the regions a redaction covers, as pure geometry over frames.

A detector finds boxes in one image; `padded` adds each kind's safety margin, `merge` joins
boxes that overlap, `scale` carries a box to an image of another size (the chroma planes, the
full frame after detection on a smaller one), and `Hold` spreads each detection over the frames
around it so a face the detector misses for a frame or two is still covered.
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from typing import Generic, TypeVar

FACE_MARGIN = 0.3  # of the box size, on every side: hair, ears, a turning head
PLATE_MARGIN = 0.25

T = TypeVar("T")


@dataclasses.dataclass(frozen=True, slots=True)
class Box:
    """A region to blur, in pixels of the image it was found in."""

    x: int
    y: int
    w: int
    h: int
    kind: str  # "face" | "plate"


def expand(box: Box, width: int, height: int, margin: float) -> Box:
    """The box grown by `margin` of its size on every side, clipped to the image."""
    dx, dy = round(box.w * margin), round(box.h * margin)
    x0, y0 = max(0, box.x - dx), max(0, box.y - dy)
    x1, y1 = min(width, box.x + box.w + dx), min(height, box.y + box.h + dy)
    return Box(x0, y0, max(0, x1 - x0), max(0, y1 - y0), box.kind)


def scale(box: Box, factor: float) -> Box:
    """The box in an image `factor` times the size, rounded outwards."""
    x0, y0 = int(box.x * factor), int(box.y * factor)
    x1 = math.ceil((box.x + box.w) * factor)
    y1 = math.ceil((box.y + box.h) * factor)
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


def padded(boxes: list[Box], width: int, height: int) -> list[Box]:
    """Each box with its kind's safety margin."""
    return [
        expand(b, width, height, FACE_MARGIN if b.kind == "face" else PLATE_MARGIN) for b in boxes
    ]


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
