"""Simulated routes: deterministic per seed, physically plausible, on the map."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta

import pytest

from camtel.messages import Position
from camtel.protocols.base import position_problem
from camtel.sim import routes
from camtel.sim.routes import CITIES, Route, RoutePoint, route_points

START = datetime(2026, 3, 15, 8, 0, tzinfo=UTC)
SEEDS = range(8)
TWO_HOURS = 7200


def metres(a: RoutePoint, b: RoutePoint) -> tuple[float, float]:
    """Local (east, north) displacement from a to b, good to well under a metre over a block."""
    north = (b.latitude - a.latitude) * 111_320
    east = (b.longitude - a.longitude) * 111_320 * math.cos(math.radians(a.latitude))
    return east, north


@pytest.fixture(scope="module")
def drives() -> dict[int, list[RoutePoint]]:
    return {seed: route_points(seed, START, 1.0, TWO_HOURS) for seed in SEEDS}


def test_same_seed_same_route_other_seed_other_route():
    assert route_points(7, START, 1.0, 300) == route_points(7, START, 1.0, 300)
    assert route_points(7, START, 1.0, 300) != route_points(8, START, 1.0, 300)


def test_the_callers_step_does_not_change_the_route():
    coarse, fine = Route(3, START), Route(3, START)
    for _ in range(60):
        fine.advance(1.0)
    assert coarse.advance_to(START + timedelta(seconds=60)) == fine.point
    assert coarse.advance_to(START) == fine.point  # the clock never runs backwards


def test_every_point_passes_the_shared_sanity_check(drives):
    now = START + timedelta(hours=3)
    for seed, points in drives.items():
        for point in points:
            position = Position(
                "sim",
                str(seed),
                point.time,
                point.latitude,
                point.longitude,
                speed_kmh=point.speed_kmh,
                course=point.course,
                altitude=point.altitude_m,
            )
            assert position_problem(position, now) is None, (seed, point)


def test_speeds_and_accelerations_are_those_of_a_car(drives):
    top = 0.0
    for points in drives.values():
        for before, after in itertools.pairwise(points):
            assert 0.0 <= after.speed_kmh <= routes.MAX_SPEED_KMH
            change = (after.speed_kmh - before.speed_kmh) / 3.6  # m/s in one second
            assert -routes.MAX_BRAKE - 0.1 <= change <= routes.ACCELERATION + 0.1
            top = max(top, after.speed_kmh)
    assert top > 80, "some vehicle reaches an arterial or expressway"


def test_course_and_distance_match_the_movement(drives):
    checked = 0
    for points in drives.values():
        for before, after in itertools.pairwise(points):
            east, north = metres(before, after)
            moved = math.hypot(east, north)
            if before.course != after.course or moved < 3:
                continue  # a turn in between: the chord is not along either course
            assert after.odometer_m - before.odometer_m == pytest.approx(moved, abs=1.5)
            bearing = math.degrees(math.atan2(east, north)) % 360
            assert abs((bearing - after.course + 180) % 360 - 180) < 1.0
            expected = (before.speed_kmh + after.speed_kmh) / 2 / 3.6
            assert moved == pytest.approx(expected, rel=0.05, abs=1.5)
            checked += 1
    assert checked > len(SEEDS) * TWO_HOURS // 3


def stops(points: list[RoutePoint]) -> list[list[RoutePoint]]:
    """Runs of standing still that follow some driving."""
    found, current, driven = [], [], False
    for point in points:
        if point.speed_kmh == 0:
            current.append(point)
            continue
        if current and driven:
            found.append(current)
        current, driven = [], True
    return found


def test_vehicles_stop_at_junctions_and_sometimes_park(drives):
    all_stops = [stop for points in drives.values() for stop in stops(points)]
    assert len(all_stops) > 20 * len(SEEDS)
    assert any(len(stop) >= 20 for stop in all_stops), "red lights last a while"
    parked = [stop for stop in all_stops if not stop[len(stop) // 2].ignition]
    assert parked, "now and then a driver parks with the engine off"
    for points in drives.values():
        assert all(point.speed_kmh == 0 for point in points if not point.ignition)


def test_vehicles_stay_in_their_city(drives):
    limit = routes.GRID_HALF_BLOCKS * routes.BLOCK_M * math.sqrt(2) + 1
    for seed, points in drives.items():
        city = Route(seed, START).city
        centre = RoutePoint(START, city.latitude, city.longitude, 0, 0, 0, True, 0)
        assert all(math.hypot(*metres(centre, point)) <= limit for point in points)


def test_a_city_can_be_chosen_and_the_southern_and_western_ones_are_negative():
    sao_paulo = next(city for city in CITIES if city.name == "Sao Paulo")
    (point,) = route_points(1, START, 1.0, 1, city=sao_paulo)
    assert point.latitude < 0 and point.longitude < 0
    assert point.altitude_m == pytest.approx(sao_paulo.altitude_m, abs=25)
