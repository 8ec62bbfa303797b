"""Computed distance and motion of a device's fixes, one fix at a time. Pure.

Metres between consecutive fixes, their running total and a moving/stopped state. These are
camtel's own figures, under names no decoder uses (`distance_m`,
`total_distance_m`); a device's own odometer (`odometer_m`) is another attribute, kept as it
came, because it is what fleet managers reconcile with the dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from camtel.geo import START_KMH, distance_m, kmh
from camtel.messages import Position
from camtel.protocols.base import MAX_SPEED_KMH

#: Hysteresis: start moving above `START_KMH`, stop below this speed (GPS speed jitters).
STOP_KMH = 2.0
#: A parked receiver wanders by tens of metres; below this, a stopped device did not move.
JITTER_M = 30.0


@dataclass(slots=True)
class MotionState:
    """One device's newest valid fix, distance covered since the worker met it, and motion."""

    last: Position | None = None
    total_distance_m: float = 0.0
    moving: bool = False


def _moving(was_moving: bool, speed_kmh: float) -> bool:
    return speed_kmh >= STOP_KMH if was_moving else speed_kmh > START_KMH


def advance(state: MotionState, position: Position) -> dict[str, Any]:
    """Update the state with a fix; return the attributes to add to it.

    Only a valid fix newer than the last one adds distance. A late fix (uploaded from the
    device's store) gets a motion flag from its own speed and nothing else, and an invalid one
    the total so far, so history arriving out of order never rewinds or inflates it. A jump
    faster than any vehicle (a glitch, or a device that moved while switched off) becomes
    the new reference without adding distance.
    """
    last = state.last
    own_speed = position.speed_kmh
    if last is not None and position.time <= last.time:
        return {"motion": _moving(False, own_speed or 0.0)}
    if not position.valid:
        moving = _moving(state.moving, own_speed or 0.0)
        return {"motion": moving, "total_distance_m": round(state.total_distance_m, 1)}
    step = 0.0
    implied_kmh = 0.0
    if last is not None:
        step = distance_m(last, position)
        implied_kmh = kmh(step, (position.time - last.time).total_seconds())
        if implied_kmh > MAX_SPEED_KMH:
            step = 0.0
    speed = own_speed if own_speed is not None else implied_kmh
    state.moving = _moving(state.moving, speed)
    if not state.moving and step < JITTER_M:
        step = 0.0
    state.total_distance_m += step
    state.last = position
    return {
        "motion": state.moving,
        "distance_m": round(step, 1),
        "total_distance_m": round(state.total_distance_m, 1),
    }
