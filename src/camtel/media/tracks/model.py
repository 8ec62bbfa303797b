"""What an embedded-track parser returns: points, G-sensor samples and what went wrong."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta


def shifted(base: datetime | None, days: float = 0.0, seconds: float = 0.0) -> datetime | None:
    """`base` moved by a span a file states; None when there is no base or the span is not a
    number or leaves the calendar (a damaged file must not end the whole extraction)."""
    if base is None or not (math.isfinite(days) and math.isfinite(seconds)):
        return None
    try:
        return base + timedelta(days=days, seconds=seconds)
    except OverflowError:
        return None


@dataclass(frozen=True, slots=True)
class TrackPoint:
    """One GPS fix found in a recording; `offset_s` is seconds from the start of the video."""

    offset_s: float
    time: datetime | None
    latitude: float
    longitude: float
    altitude_m: float | None = None
    speed_kmh: float | None = None
    course: float | None = None
    fix: int | None = None  # 2 = 2D, 3 = 3D, when the format says
    satellites: int | None = None
    dop: float | None = None


@dataclass(frozen=True, slots=True)
class GSensorSample:
    """One accelerometer reading, in g, at `offset_s` seconds from the start of the video."""

    offset_s: float
    x: float
    y: float
    z: float


@dataclass(slots=True)
class Extraction:
    """Everything found in one file. `source_format` is None when no track was found."""

    points: list[TrackPoint] = field(default_factory=list)
    gsensor: list[GSensorSample] = field(default_factory=list)
    source_format: str | None = None
    warnings: list[str] = field(default_factory=list)
