"""The first stage: drop what cannot be true or is already stored; keep fixes marked invalid.

Pure functions over a small per-device state; no I/O.

Decisions:
- A fix the device itself marks invalid (no GNSS lock) is kept, flagged `valid=False`: its
  time, alarms and sensor values matter even without a trustworthy location.
- Physically impossible values (the shared `position_problem` check: coordinates, course,
  speed, a time more than a day ahead), clocks that were never set (before 2000) and a
  "valid" fix at exactly 0°, 0° are dropped.
- A repeat of a fix already stored (same time and content key, `camtel.dedup`) is dropped;
  the window is the last `RECENT` stored fixes per device, and the database's unique key
  catches older ones.
- A fix older than the newest one seen (out of order) is *kept*: trackers upload what they
  stored while out of coverage (JT/T 808 0x0704, Teltonika buffers), sometimes newest first,
  and dropping them would lose history. Motion ignores them (see `motion`).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from camtel.messages import Position
from camtel.protocols.base import position_problem

#: How many stored fixes per device the duplicate check remembers.
RECENT = 256
#: Device clocks that were never set report 1970, 1980 (GPS epoch) or 2000; none is real.
EARLIEST = datetime(2000, 1, 2, tzinfo=UTC)


@dataclass(slots=True)
class FilterState:
    """What the filter remembers of one device: the keys of its recently stored fixes."""

    stored: OrderedDict[tuple[datetime, int], None] = field(default_factory=OrderedDict)
    newest: datetime | None = None


def judge(position: Position, dedup: int, state: FilterState, now: datetime) -> str | None:
    """Why a fix is dropped, or None when it goes on down the pipeline."""
    problem = position_problem(position, now)
    if problem is not None:
        return problem
    if position.time < EARLIEST:
        return "time_not_set"
    if position.valid and position.latitude == 0.0 and position.longitude == 0.0:
        return "null_island"
    if (position.time, dedup) in state.stored:
        return "duplicate"
    return None


def is_late(position: Position, state: FilterState) -> bool:
    """Whether a fix is older than the newest one stored for its device."""
    return state.newest is not None and position.time < state.newest


def remember(state: FilterState, position: Position, dedup: int) -> None:
    """Note a fix as stored (call once it is durable, never before)."""
    state.stored[(position.time, dedup)] = None
    while len(state.stored) > RECENT:
        state.stored.popitem(last=False)
    if state.newest is None or position.time > state.newest:
        state.newest = position.time
