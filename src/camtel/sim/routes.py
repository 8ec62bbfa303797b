"""Simulated driving: a deterministic vehicle on a street grid around a city centre."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

#: Metres per degree of latitude (and of longitude at the equator); plenty for a few km.
_M_PER_DEGREE = 111_320.0
#: Distance between neighbouring junctions.
BLOCK_M = 250.0
#: Junctions from the centre to the edge of the grid (±6 km).
GRID_HALF_BLOCKS = 24
#: Nobody in the simulation drives faster, whatever the road.
MAX_SPEED_KMH = 130.0
ACCELERATION = 2.0  # m/s², a relaxed start
COMFORT_BRAKE = 2.5  # m/s², what a driver plans with
MAX_BRAKE = 4.5  # m/s², the hardest the vehicle ever brakes
TURN_SPEED = 6.0  # m/s (about 22 km/h) through a turn
TICK_S = 0.5
_STOP_SNAP_M = 0.3


@dataclass(frozen=True, slots=True)
class City:
    """A city centre the grid is laid around, and the codes a dash cam registers with there."""

    name: str
    latitude: float
    longitude: float
    altitude_m: float
    grid_rotation_deg: float  # street grids are rarely aligned with north
    province: int = 0  # GB/T 2260 province code (JT/T 808 register); 0 outside China
    city: int = 0
    plate_prefix: str = ""


#: A few centres, both hemispheres: JT/T 808 dash cams are sold far beyond China.
CITIES: tuple[City, ...] = (
    City("Shenzhen", 22.543096, 114.057865, 15.0, 12.0, 44, 300, "粤B"),
    City("Shanghai", 31.230416, 121.473701, 5.0, -8.0, 31, 0, "沪A"),
    City("Beijing", 39.904211, 116.407395, 45.0, 0.0, 11, 0, "京A"),
    City("Sao Paulo", -23.550520, -46.633308, 760.0, 25.0, plate_prefix="SPX"),
    City("Mexico City", 19.432608, -99.133209, 2240.0, -4.0, plate_prefix="MEX"),
)


@dataclass(frozen=True, slots=True)
class RoutePoint:
    """Where the vehicle is at one moment, as its GNSS receiver and odometer would say."""

    time: datetime
    latitude: float
    longitude: float
    speed_kmh: float
    course: float  # degrees clockwise from north, 0 <= course < 360
    altitude_m: float
    ignition: bool
    odometer_m: int


def _street_limit(index: int) -> float:
    """Speed limit (km/h) of the street with this grid index: expressways, arterials, local."""
    if index % 12 == 0:
        return 110.0
    if index % 4 == 0:
        return 70.0
    return 50.0


_STEPS = {0: (0, 1), 90: (1, 0), 180: (0, -1), 270: (-1, 0)}


class Route:
    """A vehicle driving a street grid: accelerates, brakes, stops at lights, parks now and then.

    Deterministic for a seed and pure: the caller's clock drives it through `advance_to`.
    """

    def __init__(self, seed: int, start: datetime, city: City | None = None) -> None:
        # Simulation, not security: a seeded generator keeps every run reproducible.
        self._rng = random.Random(seed)  # noqa: S311
        rng = self._rng
        self.city = city if city is not None else rng.choice(CITIES)
        self.start = start
        self._driver = rng.uniform(0.85, 1.08)  # how close to the limit this driver goes
        inner = GRID_HALF_BLOCKS // 2
        self._node = (rng.randint(-inner, inner), rng.randint(-inner, inner))
        self._heading = rng.choice(tuple(_STEPS))
        self._travelled = 0.0  # metres along the current block
        self._speed = 0.0  # m/s
        self._wait = rng.uniform(0.0, 5.0)  # seconds still standing (light, stop sign, parked)
        self._ignition = True
        self._elapsed = 0.0
        self._odometer = rng.uniform(5e6, 2e8)  # metres: 5,000 to 200,000 km on the clock
        self._plan_block()

    @property
    def point(self) -> RoutePoint:
        """Where the vehicle is now."""
        dx, dy = _STEPS[self._heading]
        east = (self._node[0] + dx * self._travelled / BLOCK_M) * BLOCK_M
        north = (self._node[1] + dy * self._travelled / BLOCK_M) * BLOCK_M
        theta = math.radians(self.city.grid_rotation_deg)
        east, north = (
            east * math.cos(theta) + north * math.sin(theta),
            -east * math.sin(theta) + north * math.cos(theta),
        )
        latitude = self.city.latitude + north / _M_PER_DEGREE
        m_per_lon = _M_PER_DEGREE * math.cos(math.radians(self.city.latitude))
        altitude = self.city.altitude_m + 12 * math.sin(east / 1800) + 8 * math.cos(north / 2300)
        return RoutePoint(
            time=self.start + timedelta(seconds=self._elapsed),
            latitude=latitude,
            longitude=self.city.longitude + east / m_per_lon,
            speed_kmh=round(self._speed * 3.6, 1),
            course=(self._heading + self.city.grid_rotation_deg) % 360.0,
            altitude_m=round(altitude, 1),
            ignition=self._ignition,
            odometer_m=int(self._odometer),
        )

    def advance(self, seconds: float) -> RoutePoint:
        """Drive on for `seconds` and say where the vehicle is then."""
        target = self._elapsed + max(seconds, 0.0)
        while self._elapsed < target - 1e-9:
            self._tick(min(TICK_S, target - self._elapsed))
        return self.point

    def advance_to(self, time: datetime) -> RoutePoint:
        """Drive on until `time` (no-op when it is not later than the route's clock)."""
        return self.advance((time - self.start).total_seconds() - self._elapsed)

    # --- the driver ---------------------------------------------------------------------

    def _street(self, node: tuple[int, int], heading: int) -> int:
        """Index of the street a block from `node` in `heading` runs along."""
        return node[0] if heading in (0, 180) else node[1]

    def _plan_block(self) -> None:
        """On entering a block, decide its pace and what happens at the junction ahead."""
        rng = self._rng
        limit = _street_limit(self._street(self._node, self._heading))
        pace = limit * self._driver * rng.uniform(0.88, 1.04)  # traffic varies per block
        self._target = min(pace, MAX_SPEED_KMH) / 3.6
        dx, dy = _STEPS[self._heading]
        ahead = (self._node[0] + dx, self._node[1] + dy)
        self._next_heading = self._choose_turn(ahead, expressway=limit >= 110)
        crossing = _street_limit(self._street(ahead, (self._heading + 90) % 360))
        if limit >= 110 and self._next_heading == self._heading:
            stop_chance = 0.0  # a flyover: no lights on the expressway
        elif max(limit, crossing) >= 70:
            stop_chance = 0.35  # traffic lights
        else:
            stop_chance = 0.12  # stop sign, give way, pedestrians
        self._stop_ahead = rng.random() < stop_chance
        if self._stop_ahead:
            self._end_speed = 0.0
        elif self._next_heading != self._heading:
            self._end_speed = min(TURN_SPEED, self._target)
        else:
            self._end_speed = self._target

    def _choose_turn(self, node: tuple[int, int], expressway: bool) -> int:
        straight = 0.95 if expressway else 0.7
        options = [
            (self._heading, straight),
            ((self._heading + 270) % 360, (1 - straight) / 2),
            ((self._heading + 90) % 360, (1 - straight) / 2),
        ]
        inside = [(h, w) for h, w in options if self._inside(node, h)]
        if not inside:
            return (self._heading + 180) % 360  # the edge of the map: turn round
        headings, weights = zip(*inside, strict=True)
        return self._rng.choices(headings, weights)[0]

    @staticmethod
    def _inside(node: tuple[int, int], heading: int) -> bool:
        dx, dy = _STEPS[heading]
        return max(abs(node[0] + dx), abs(node[1] + dy)) <= GRID_HALF_BLOCKS

    def _tick(self, dt: float) -> None:
        self._elapsed += dt
        if self._wait > 0:
            self._wait -= dt
            self._speed = 0.0
            if self._wait <= 0:
                self._ignition = True
            return
        remaining = BLOCK_M - self._travelled
        # The fastest speed v for this tick from which a comfortable brake still meets the
        # junction's speed after moving v*dt: v² = end² + 2b(remaining - v*dt), solved for v.
        b_dt = COMFORT_BRAKE * dt
        allowed = -b_dt + math.sqrt(b_dt**2 + self._end_speed**2 + 2 * COMFORT_BRAKE * remaining)
        desired = min(self._target, allowed)
        if self._speed < desired:
            self._speed = min(desired, self._speed + ACCELERATION * dt)
        else:
            self._speed = max(desired, self._speed - MAX_BRAKE * dt)
        distance = self._speed * dt
        if self._stop_ahead and remaining - distance < _STOP_SNAP_M:
            distance = remaining  # the last few centimetres at walking pace
        while distance > 0:
            remaining = BLOCK_M - self._travelled
            if distance < remaining:
                self._travelled += distance
                self._odometer += distance
                break
            self._odometer += remaining
            distance -= remaining
            if self._arrive():
                break

    def _arrive(self) -> bool:
        """Reach the junction ahead and turn into the next block; True when the car stops there."""
        rng = self._rng
        dx, dy = _STEPS[self._heading]
        self._node = (self._node[0] + dx, self._node[1] + dy)
        stopped = self._stop_ahead
        if stopped:
            self._speed = 0.0
            if rng.random() < 0.02:
                self._wait = rng.uniform(120.0, 900.0)  # parked, engine off
                self._ignition = False
            else:
                red_light = rng.random() < 0.7
                self._wait = rng.uniform(10.0, 60.0) if red_light else rng.uniform(1.0, 4.0)
        self._heading = self._next_heading
        self._travelled = 0.0
        self._plan_block()
        return stopped


def route_points(
    seed: int, start: datetime, interval_s: float, count: int, city: City | None = None
) -> list[RoutePoint]:
    """`count` points `interval_s` apart of the route for `seed` (the first at `start`)."""
    route = Route(seed, start, city)
    return [route.point] + [route.advance(interval_s) for _ in range(count - 1)]
