"""G-sensor peaks: harsh events and collisions in a recording's accelerometer series. Pure.

The analyser turns each peak into an event on the device and locks the recording; nothing here
reads a file or the database.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Dynamic acceleration (gravity removed), in g, from which a peak is a harsh event...
HARSH_G = 0.5
#: ...and from which it is a collision.
COLLISION_G = 2.0


@dataclass(frozen=True, slots=True)
class Peak:
    """A G-sensor peak: when, how strong (g, gravity removed) and what it counts as."""

    offset_s: float
    g: float
    type: str


def _moving_mean(times: list[float], values: list[float], half_s: float) -> list[float]:
    """Centred moving mean over ±half_s seconds, with two pointers (any sample rate)."""
    out: list[float] = []
    lo = hi = 0
    total = 0.0
    n = len(values)
    for t in times:
        while hi < n and times[hi] <= t + half_s:
            total += values[hi]
            hi += 1
        while times[lo] < t - half_s:
            total -= values[lo]
            lo += 1
        out.append(total / max(1, hi - lo))
    return out


def find_peaks(
    samples: list[tuple[float, float, float, float]],
    *,
    harsh_g: float = HARSH_G,
    collision_g: float = COLLISION_G,
    gap_s: float = 3.0,
) -> list[Peak]:
    """Peaks of dynamic acceleration, in g, from (offset_s, x, y, z) samples.

    Gravity and mounting angle are removed by subtracting a 10-second moving mean per axis;
    a 0.1-second mean first smooths sensor noise and engine vibration, so a short rattle at
    200 Hz does not pass for a crash. Peaks closer than `gap_s` are one event (the strongest).
    """
    if len(samples) < 2:
        return []
    samples = sorted(samples)
    times = [s[0] for s in samples]
    dynamic = [0.0] * len(samples)
    for axis in (1, 2, 3):
        values = [s[axis] for s in samples]
        smooth = _moving_mean(times, values, 0.05)
        base = _moving_mean(times, values, 5.0)
        for i, (a, b) in enumerate(zip(smooth, base, strict=True)):
            dynamic[i] += (a - b) ** 2
    peaks: list[Peak] = []
    for t, squared in zip(times, dynamic, strict=True):
        g = math.sqrt(squared)
        if g < harsh_g:
            continue
        kind = "collision" if g >= collision_g else "harsh_event"
        if peaks and t - peaks[-1].offset_s < gap_s:
            if g > peaks[-1].g:
                peaks[-1] = Peak(t, g, kind)
            continue
        peaks.append(Peak(t, g, kind))
    return [Peak(round(p.offset_s, 3), round(p.g, 3), p.type) for p in peaks]
