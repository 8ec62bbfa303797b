"""Trip and stop detection from a device's ordered fixes, using motion and ignition. Pure.

The fixes are read one at a time (a month of them never sits in memory). Each pair of
consecutive fixes is a *step*; a step is *driving* when either end is moving — the pipeline's
`motion` flag, or the reported speed when the flag is missing, and never while the ignition
is reported off — unless the device went silent for a parking's length without covering
ground (a device that is switched off when parked says nothing until it drives again).

Driving steps make a candidate trip. A pause shorter than the minimum parking time (a
traffic light, a queue) stays inside the trip; a longer one ends it. A candidate is kept as
a trip when it is long enough in distance and time and leaves a circle around its start
(a parked receiver wanders and its speed glitches, but it does not travel). The time between
two kept trips, and before the first and after the last, is a stop when it lasts at least
the minimum parking time. Trips and stops share their boundary fixes, so a trip ends exactly
where and when the following stop begins.

Distances are camtel's own: the pipeline's `total_distance_m` between consecutive fixes, else
the straight line. A device's `odometer_m` is not used: it ticks in 100 m (JT/T 808) or 1 km
(the lock dialect), so step by step it is mostly 0 or a whole tick, and it can be reset on
the dashboard; it is kept on each position for reconciling with the vehicle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from camtel.config import Settings

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from camtel.geo import START_KMH, distance_m, kmh
from camtel.protocols.base import MAX_SPEED_KMH

#: Defaults of the settings `CAMTEL_TRIP_MIN_DISTANCE_M`, `CAMTEL_TRIP_MIN_DURATION_S` and
#: `CAMTEL_STOP_MIN_DURATION_S`.
TRIP_MIN_DISTANCE_M = 500.0
TRIP_MIN_DURATION_S = 120.0
STOP_MIN_DURATION_S = 300.0
#: A trip must take the vehicle this far from where it started: jitter stays within ~50 m.
TRIP_MIN_EXTENT_M = 100.0
#: A step longer than this with the engine on is a silence, not proof of idling.
IDLE_MAX_STEP_S = 900.0
#: A computed distance that disagrees with the straight line by more than this is not trusted.
DISTANCE_TOLERANCE_M = 100.0


class Fix(Protocol):
    """What detection reads of a position (an ORM row, a result row or a message)."""

    @property
    def time(self) -> datetime: ...
    @property
    def latitude(self) -> float: ...
    @property
    def longitude(self) -> float: ...
    @property
    def speed_kmh(self) -> float | None: ...
    @property
    def valid(self) -> bool: ...
    @property
    def attributes(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True, slots=True)
class Rules:
    """The thresholds of detection; `from_settings` reads them from camtel's settings."""

    min_trip_distance_m: float = TRIP_MIN_DISTANCE_M
    min_trip_duration_s: float = TRIP_MIN_DURATION_S
    min_stop_duration_s: float = STOP_MIN_DURATION_S
    min_trip_extent_m: float = TRIP_MIN_EXTENT_M
    use_ignition: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> Rules:
        """The rules an operator configured."""
        return cls(
            min_trip_distance_m=float(settings.trip_min_distance_m),
            min_trip_duration_s=float(settings.trip_min_duration_s),
            min_stop_duration_s=float(settings.stop_min_duration_s),
        )


@dataclass(frozen=True, slots=True)
class Place:
    """Where a device was at a moment."""

    time: datetime
    latitude: float
    longitude: float


@dataclass(frozen=True, slots=True)
class Trip:
    """A journey from one parking to the next."""

    start: Place
    end: Place
    distance_m: float
    moving_s: float  # time in driving steps; the rest of the duration was short pauses
    idle_s: float  # engine on and not moving, within the trip
    max_speed_kmh: float
    positions: int

    @property
    def duration_s(self) -> float:
        return (self.end.time - self.start.time).total_seconds()

    @property
    def avg_speed_kmh(self) -> float:
        return kmh(self.distance_m, self.duration_s) if self.duration_s > 0 else 0.0


@dataclass(frozen=True, slots=True)
class Stop:
    """A parking: from the end of a trip (or the first fix) to the next trip (or the last)."""

    start_time: datetime
    end_time: datetime
    latitude: float
    longitude: float
    idle_s: float  # engine on during the stop

    @property
    def duration_s(self) -> float:
        return (self.end_time - self.start_time).total_seconds()


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def step_distance_m(a: Fix, b: Fix) -> float:
    """Distance between consecutive fixes: the pipeline's when it is plausible, else geodesic.

    A jump faster than any vehicle counts as nothing (a glitch). The pipeline's running
    `total_distance_m` has already left out a parked receiver's wander and such glitches, so
    it is preferred; it is ignored when it went backwards (the worker restarted and began
    again from 0) or disagrees with the straight line and the elapsed time.
    """
    seconds = (b.time - a.time).total_seconds()
    geo = distance_m(a, b)
    if seconds <= 0 or kmh(geo, seconds) > MAX_SPEED_KMH:
        geo = 0.0
    before = _number(a.attributes.get("total_distance_m"))
    after = _number(b.attributes.get("total_distance_m"))
    if before is not None and after is not None and seconds > 0:
        delta = after - before
        fastest = MAX_SPEED_KMH / 3.6 * seconds + DISTANCE_TOLERANCE_M
        if geo - DISTANCE_TOLERANCE_M <= delta <= fastest and delta >= 0:
            return delta
    return geo


def ignition(fix: Fix) -> bool | None:
    """The reported ignition state, or None when the device does not report it."""
    value = fix.attributes.get("ignition")
    if value is None or not isinstance(value, bool | int | float):
        return None
    return bool(value)


def is_moving(fix: Fix, *, use_ignition: bool = True) -> bool:
    """Whether the vehicle was moving at this fix: the motion flag, or the speed without it."""
    if use_ignition and ignition(fix) is False:
        return False
    motion = fix.attributes.get("motion")
    if isinstance(motion, bool):
        return motion
    return (fix.speed_kmh or 0.0) > START_KMH


class _Candidate:
    """A trip being built from driving steps (and the short pauses between them)."""

    __slots__ = (
        "distance", "end", "extent", "first", "idle0", "implied", "last", "moving", "speed",
        "start",
    )  # fmt: skip

    def __init__(self, start: Fix, index: int, idle0: float) -> None:
        self.start = self.end = start
        self.first = self.last = index  # indexes of the first and last fix, for a count
        self.idle0 = idle0
        self.distance = self.moving = self.extent = self.implied = 0.0
        self.speed: float | None = start.speed_kmh

    def reach(self, fix: Fix, index: int) -> None:
        self.end, self.last = fix, index
        self.extent = max(self.extent, distance_m(self.start, fix))
        if fix.speed_kmh is not None:
            self.speed = max(self.speed or 0.0, fix.speed_kmh)


def _place(fix: Fix) -> Place:
    return Place(fix.time, fix.latitude, fix.longitude)


class Detector:
    """Feed fixes oldest first; trips and stops come out in time order as they complete."""

    def __init__(self, rules: Rules | None = None) -> None:
        self.rules = rules or Rules()
        self.idle_s = 0.0  # engine on and not moving, over everything fed
        self.positions = 0
        self.max_speed_kmh: float | None = None
        self._prev: Fix | None = None
        self._gap_start: Fix | None = None  # where the current parking began
        self._gap_idle0 = 0.0
        self._trip: _Candidate | None = None
        self._pause: Fix | None = None  # first fix of a pause inside the candidate
        self._pause_idle0 = 0.0

    def feed(self, fix: Fix) -> list[Trip | Stop]:
        """Take the next fix; invalid, repeated and out-of-order fixes are skipped."""
        prev = self._prev
        if not fix.valid or (prev is not None and fix.time <= prev.time):
            return []
        self.positions += 1
        if fix.speed_kmh is not None:
            self.max_speed_kmh = max(self.max_speed_kmh or 0.0, fix.speed_kmh)
        self._prev = fix
        if prev is None:
            self._gap_start = fix
            return []
        out: list[Trip | Stop] = []
        self._step(prev, fix, out)
        return out

    def finish(self) -> list[Trip | Stop]:
        """Close what is open: a trip still under way and the parking after the last trip."""
        out: list[Trip | Stop] = []
        if self._trip is not None:
            self._close(self._pause_idle0 if self._pause is not None else self.idle_s, out)
        last, start = self._prev, self._gap_start
        if last is not None and start is not None:
            self._stop(start, last, self.idle_s - self._gap_idle0, out)
        return out

    def _step(self, a: Fix, b: Fix, out: list[Trip | Stop]) -> None:
        rules = self.rules
        seconds = (b.time - a.time).total_seconds()
        distance = step_distance_m(a, b)
        a_moving = is_moving(a, use_ignition=rules.use_ignition)
        b_moving = is_moving(b, use_ignition=rules.use_ignition)
        covered = kmh(distance, seconds) >= START_KMH
        driving = (a_moving or b_moving) and (seconds < rules.min_stop_duration_s or covered)
        trip = self._trip
        if driving:
            if trip is None:
                trip = self._trip = _Candidate(a, self.positions - 2, self.idle_s)
            elif self._pause is not None:
                # A short pause stays in the trip; count it as a straight line, since
                # summing a standing receiver's jitter would invent distance.
                trip.distance += step_distance_m(self._pause, a)
                self._pause = None
            trip.distance += distance
            trip.moving += seconds
            trip.implied = max(trip.implied, kmh(distance, seconds))
            trip.reach(b, self.positions - 1)
            return
        if trip is not None and self._pause is None:
            self._pause, self._pause_idle0 = a, self.idle_s
        if not a_moving and ignition(a) is True and seconds <= IDLE_MAX_STEP_S:
            self.idle_s += seconds
        if self._pause is not None and (
            (b.time - self._pause.time).total_seconds() >= rules.min_stop_duration_s
        ):
            self._close(self._pause_idle0, out)

    def _close(self, idle_end: float, out: list[Trip | Stop]) -> None:
        trip, rules = self._trip, self.rules
        assert trip is not None
        self._trip, self._pause = None, None
        duration = (trip.end.time - trip.start.time).total_seconds()
        if (
            trip.distance < rules.min_trip_distance_m
            or duration < rules.min_trip_duration_s
            or trip.extent < rules.min_trip_extent_m
        ):
            return  # not a trip: the parking goes on
        assert self._gap_start is not None
        self._stop(self._gap_start, trip.start, trip.idle0 - self._gap_idle0, out)
        out.append(
            Trip(
                start=_place(trip.start),
                end=_place(trip.end),
                distance_m=round(trip.distance, 1),
                moving_s=trip.moving,
                idle_s=idle_end - trip.idle0,
                max_speed_kmh=round(trip.speed if trip.speed is not None else trip.implied, 1),
                positions=trip.last - trip.first + 1,
            )
        )
        self._gap_start, self._gap_idle0 = trip.end, idle_end

    def _stop(self, start: Fix, end: Fix, idle: float, out: list[Trip | Stop]) -> None:
        if (end.time - start.time).total_seconds() >= self.rules.min_stop_duration_s:
            out.append(Stop(start.time, end.time, start.latitude, start.longitude, idle))


def iter_detect(fixes: Iterable[Fix], rules: Rules | None = None) -> Iterator[Trip | Stop]:
    """Trips and stops of fixes (oldest first), in time order, one pass."""
    detector = Detector(rules)
    for fix in fixes:
        yield from detector.feed(fix)
    yield from detector.finish()


def detect(fixes: Iterable[Fix], rules: Rules | None = None) -> tuple[list[Trip], list[Stop]]:
    """Trips and stops of fixes (oldest first), each list in time order."""
    trips: list[Trip] = []
    stops: list[Stop] = []
    for item in iter_detect(fixes, rules):
        if isinstance(item, Trip):
            trips.append(item)
        else:
            stops.append(item)
    return trips, stops
