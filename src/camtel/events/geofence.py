"""Entering and leaving fences, with a hysteresis so GPS jitter at an edge does not flap. Pure.

A device changes side when a fix is past the edge by at least the margin, or when enough
consecutive fixes over enough seconds are on the other side (a device that parks just
outside still exits). A receiver wandering across the edge does neither: each time it comes
back, the count starts again.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

#: What names a fence here: anything hashable (the pipeline uses the fence's id).
Fence = TypeVar("Fence", bound=Hashable)

#: A fix this far past an edge counts at once (metres).
MARGIN_M = 20.0
#: Otherwise, this many consecutive fixes on the other side...
CONFIRM_FIXES = 3
#: ...spanning at least this many seconds.
CONFIRM_S = 10.0


@dataclass(frozen=True, slots=True)
class Hysteresis:
    """How sure camtel must be before it says a device crossed an edge."""

    margin_m: float = MARGIN_M
    confirm_fixes: int = CONFIRM_FIXES
    confirm_s: float = CONFIRM_S


@dataclass(slots=True)
class FenceTrack:
    """One device against one fence."""

    inside: bool = False
    streak: int = 0
    streak_since: datetime | None = None


@dataclass(slots=True)
class GeofenceState(Generic[Fence]):
    """One device against every fence that applies to it."""

    tracks: dict[Fence, FenceTrack] = field(default_factory=dict)

    def inside(self) -> list[Fence]:
        """Fences the device is inside now."""
        return [key for key, track in self.tracks.items() if track.inside]


@dataclass(frozen=True, slots=True)
class Crossing(Generic[Fence]):
    """A decided change of side: the device entered (or left) a fence at a fix."""

    fence: Fence
    entered: bool
    distance_m: float


def step(
    track: FenceTrack,
    distance_m: float,
    time: datetime,
    rule: Hysteresis,
    margin_cap_m: float | None = None,
) -> bool:
    """Advance one track with a fix `distance_m` from the edge (positive inside); True when
    the device changed side with this fix."""
    margin = rule.margin_m if margin_cap_m is None else min(rule.margin_m, margin_cap_m)
    now_inside = distance_m > 0
    if now_inside == track.inside:
        track.streak, track.streak_since = 0, None
        return False
    if abs(distance_m) >= margin:
        crossed = True
    else:
        track.streak += 1
        if track.streak_since is None:
            track.streak_since = time
        span = (time - track.streak_since).total_seconds()
        crossed = track.streak >= rule.confirm_fixes and span >= rule.confirm_s
    if crossed:
        track.inside = now_inside
        track.streak, track.streak_since = 0, None
    return crossed


def observe(
    state: GeofenceState[Fence],
    *,
    time: datetime,
    distances: Mapping[Fence, float],
    watched: Iterable[Fence],
    rule: Hysteresis = Hysteresis(),
    margin_caps: Mapping[Fence, float | None] | None = None,
) -> list[Crossing[Fence]]:
    """Judge one fix against the fences watched now.

    `distances` holds the signed distance to each watched fence near the fix; a watched
    fence missing from it is far away outside. Fences no longer watched (deleted, or out
    of their schedule) keep their track untouched.
    """
    caps = margin_caps or {}
    crossings: list[Crossing[Fence]] = []
    for fence in watched:
        track = state.tracks.setdefault(fence, FenceTrack())
        distance = distances.get(fence, -float("inf"))
        if step(track, distance, time, rule, caps.get(fence)):
            crossings.append(Crossing(fence, track.inside, distance))
    return crossings


def forget(state: GeofenceState[Fence], keep: Iterable[Fence]) -> None:
    """Drop the tracks of fences that no longer exist."""
    kept = set(keep)
    for fence in [f for f in state.tracks if f not in kept]:
        del state.tracks[fence]
