"""Speeding: over the limit for at least a minimum duration is one event. Pure.

The limit is the lowest of the device's own (`attributes.speed_limit_kmh`) and those of
the fences it is inside. One stretch of speeding is one event, decided when it has lasted
`min_duration_s`; it ends when the speed falls back to the limit or below.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from camtel.messages import DeviceEvent

MIN_DURATION_S = 10.0


@dataclass(slots=True)
class OverspeedState:
    """The stretch of speeding in progress, if any."""

    since: datetime | None = None
    max_kmh: float = 0.0
    reported: bool = False


@dataclass(frozen=True, slots=True)
class Limit:
    """A speed limit and where it comes from ("device" or a fence id)."""

    kmh: float
    source: str


def lowest(limits: list[Limit]) -> Limit | None:
    """The limit that applies: the lowest one."""
    return min(limits, key=lambda limit: limit.kmh) if limits else None


def observe(
    state: OverspeedState,
    *,
    time: datetime,
    speed_kmh: float | None,
    limit: Limit | None,
    latitude: float | None = None,
    longitude: float | None = None,
    min_duration_s: float = MIN_DURATION_S,
    tolerance_kmh: float = 0.0,
) -> DeviceEvent | None:
    """Advance with one fix; the overspeed event when this fix makes the stretch long enough."""
    if limit is None or speed_kmh is None or speed_kmh <= limit.kmh + tolerance_kmh:
        state.since, state.max_kmh, state.reported = None, 0.0, False
        return None
    if state.since is None:
        state.since = time
    state.max_kmh = max(state.max_kmh, speed_kmh)
    lasted = (time - state.since).total_seconds()
    if state.reported or lasted < min_duration_s:
        return None
    state.reported = True
    attributes: dict[str, Any] = {
        "speed_kmh": round(state.max_kmh, 1),
        "limit_kmh": limit.kmh,
        "limit_source": limit.source,
        "since": state.since.isoformat(),
        "duration_s": round(lasted, 1),
    }
    return DeviceEvent(
        "overspeed",
        time,
        f"overspeed:{state.since.isoformat()}",
        latitude=latitude,
        longitude=longitude,
        attributes=attributes,
    )
