"""Trip and stop detection on hand-built days and on random ones (hypothesis)."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from camtel.trips.detect import (
    STOP_MIN_DURATION_S,
    TRIP_MIN_DISTANCE_M,
    Rules,
    Stop,
    Trip,
    detect,
    iter_detect,
    step_distance_m,
)
from helpers.trips import DEG_PER_M, T0, Fix, Route


def test_a_commute_is_one_trip_between_two_stops():
    route = (
        Route()
        .park(600)
        .park(120, ignition=True)
        .drive(600)
        .park(60, every=10, ignition=True)  # a red light
        .drive(300)
        .park(1800)
    )
    trips, stops = detect(route.fixes)
    assert len(trips) == 1
    trip = trips[0]
    assert trip.start.time == T0 + timedelta(seconds=660), "starts at the last parked fix"
    assert trip.end.time == T0 + timedelta(seconds=1680), "ends at the first parked fix"
    assert trip.distance_m == pytest.approx(9000, rel=0.01)
    assert trip.duration_s == 1020
    assert trip.moving_s == 1020 - 50
    assert trip.idle_s == 50, "the red light, engine on"
    assert trip.max_speed_kmh == 36.0
    assert trip.avg_speed_kmh == pytest.approx(9000 / 1020 * 3.6, rel=0.01)
    assert trip.positions == 1 + 60 + 6 + 30 + 1
    assert [(s.start_time, s.end_time) for s in stops] == [
        (T0, trip.start.time),
        (trip.end.time, T0 + timedelta(seconds=1680 + 1740)),
    ]
    assert stops[0].idle_s == 60, "engine on before leaving"
    assert (stops[1].latitude, stops[1].longitude) == (trip.end.latitude, trip.end.longitude)


def test_a_long_pause_splits_trips_and_a_short_one_does_not():
    short = Route().park(600).drive(600).park(STOP_MIN_DURATION_S - 60).drive(600).park(600)
    assert len(detect(short.fixes)[0]) == 1
    long = Route().park(600).drive(600).park(STOP_MIN_DURATION_S + 60).drive(600).park(600)
    trips, stops = detect(long.fixes)
    assert len(trips) == 2
    assert len(stops) == 3
    assert stops[1].start_time == trips[0].end.time
    assert stops[1].end_time == trips[1].start.time


def test_short_hops_are_not_trips():
    hop = Route().park(600).drive(30, kmh=20).park(600)  # under 200 m
    trips, stops = detect(hop.fixes)
    assert trips == []
    assert len(stops) == 1, "the parking goes on through the hop"
    quick = Route().park(600).drive(40, kmh=100).park(600)  # 1.1 km in 100 s
    assert detect(quick.fixes)[0] == []
    assert len(detect(quick.fixes, Rules(min_trip_duration_s=30))[0]) == 1


def test_ignition_off_means_parked_unless_told_otherwise():
    towed = Route().park(600)
    for fix in Route(start=towed.time).drive(600).fixes:
        towed.fixes.append(replace(fix, attributes={**fix.attributes, "ignition": False}))
    assert detect(towed.fixes)[0] == []
    assert len(detect(towed.fixes, Rules(use_ignition=False))[0]) == 1


def test_speed_decides_without_a_motion_flag():
    route = Route().park(600).drive(600).park(600)
    bare = [replace(f, attributes={}) for f in route.fixes]
    assert len(detect(bare)[0]) == 1


def test_a_silent_parking_splits_and_a_dead_zone_does_not():
    parked = Route().park(600).drive(600).here().silence(7200).drive(600).park(600)
    trips, stops = detect(parked.fixes)
    assert len(trips) == 2
    assert stops[1].duration_s == 7200
    tunnel = Route().park(600).drive(600).silence(420)
    tunnel.lat += 5000 * DEG_PER_M  # 5 km in 7 minutes, nothing heard
    tunnel.drive(600).park(600)
    trips, _ = detect(tunnel.fixes)
    assert len(trips) == 1
    assert trips[0].distance_m == pytest.approx(6000 + 5000 + 6000, rel=0.01)


def test_computed_distance_is_preferred_when_plausible():
    a = Fix(T0, 52.5, 13.4, 50, attributes={"total_distance_m": 1000.0})
    b = Fix(T0 + timedelta(seconds=60), 52.5 + 600 * DEG_PER_M, 13.4, 50,
            attributes={"total_distance_m": 1650.0})  # fmt: skip
    assert step_distance_m(a, b) == 650.0
    restarted = replace(b, attributes={"total_distance_m": 10.0})
    assert step_distance_m(a, restarted) == pytest.approx(600, rel=0.01)
    wild = replace(b, attributes={"total_distance_m": 900_000.0})
    assert step_distance_m(a, wild) == pytest.approx(600, rel=0.01)
    glitch = replace(b, latitude=10.0)
    assert step_distance_m(replace(a, attributes={}), replace(glitch, attributes={})) == 0.0


def test_the_device_odometer_is_not_trip_distance():
    """A JT/T 808 odometer ticks in 100 m: step by step it says 0 or 100, never 60."""
    a = Fix(T0, 52.5, 13.4, 50, attributes={"odometer_m": 57_200})
    b = Fix(T0 + timedelta(seconds=5), 52.5 + 60 * DEG_PER_M, 13.4, 50,
            attributes={"odometer_m": 57_300})  # fmt: skip
    assert step_distance_m(a, b) == pytest.approx(60, rel=0.01)


def test_invalid_repeated_and_late_fixes_are_skipped():
    route = Route().park(600).drive(600).park(600)
    noisy = []
    for fix in route.fixes:
        noisy += [fix, fix, replace(fix, valid=False, latitude=0.0)]
    noisy.insert(40, replace(route.fixes[2], latitude=0.0))  # late
    assert detect(noisy) == detect(route.fixes)


def test_rules_come_from_settings():
    from camtel.config import Settings

    assert Rules.from_settings(Settings()) == Rules(), "the settings' defaults are the rules'"
    made = Rules.from_settings(Settings(trip_min_distance_m=50, stop_min_duration_s=60))
    assert made.min_trip_distance_m == 50
    assert made.min_stop_duration_s == 60
    assert made.min_trip_duration_s == Rules().min_trip_duration_s


def test_no_fixes_and_one_fix():
    assert detect([]) == ([], [])
    assert detect([Fix(T0, 1.0, 2.0)]) == ([], [])


# Properties


@st.composite
def days(draw, jitter_m=None):  # type: ignore[no-untyped-def]
    """Random fixes: steps of 1 s to 2 h, a random walk (or jitter around one place)."""
    n = draw(st.integers(0, 120))
    time, lat, lon = T0, 45.0, 7.0
    fixes = []
    for _ in range(n):
        time += timedelta(seconds=draw(st.integers(1, 7200)))
        if jitter_m is None:
            lat += draw(st.floats(-3000, 3000)) * DEG_PER_M
            lon += draw(st.floats(-3000, 3000)) * DEG_PER_M
            here = (lat, lon)
        else:
            here = (
                45.0 + draw(st.floats(-jitter_m, jitter_m)) * DEG_PER_M * 0.7,
                7.0 + draw(st.floats(-jitter_m, jitter_m)) * DEG_PER_M * 0.7,
            )
        attributes = {}
        motion = draw(st.sampled_from([None, True, False]))
        if motion is not None:
            attributes["motion"] = motion
        ignition = draw(st.sampled_from([None, True, False, 1, 0]))
        if ignition is not None:
            attributes["ignition"] = ignition
        if draw(st.booleans()):
            attributes["total_distance_m"] = draw(st.floats(0, 1e6))
        if draw(st.booleans()):
            attributes["odometer_m"] = draw(st.floats(0, 1e6))
        speed = draw(st.one_of(st.none(), st.floats(0, 200)))
        fixes.append(Fix(time, *here, speed, valid=draw(st.booleans()) or True,
                         attributes=attributes))  # fmt: skip
    return fixes


rules_strategy = st.builds(
    Rules,
    min_trip_distance_m=st.floats(0, 5000),
    min_trip_duration_s=st.floats(0, 3600),
    min_stop_duration_s=st.floats(0, 3600),
)


def _interval(item: Trip | Stop) -> tuple:  # type: ignore[type-arg]
    if isinstance(item, Trip):
        return item.start.time, item.end.time
    return item.start_time, item.end_time


@settings(max_examples=100, deadline=None)
@given(days(), rules_strategy)
def test_trips_and_stops_never_overlap(fixes, rules):
    items = list(iter_detect(fixes, rules))
    for before, after in itertools.pairwise(items):
        assert _interval(before)[1] <= _interval(after)[0], "in time order, never overlapping"
        assert not (isinstance(before, Stop) and isinstance(after, Stop)), "a trip between"
    for item in items:
        start, end = _interval(item)
        assert start <= end
        if isinstance(item, Trip):
            assert item.distance_m >= 0 and item.distance_m >= rules.min_trip_distance_m - 0.05
            assert item.duration_s >= rules.min_trip_duration_s
            assert 0 <= item.moving_s <= item.duration_s
            assert 0 <= item.idle_s <= item.duration_s
            assert item.max_speed_kmh >= 0 and item.avg_speed_kmh >= 0
        else:
            assert item.duration_s >= rules.min_stop_duration_s
            assert 0 <= item.idle_s <= item.duration_s
    assert detect(fixes, rules) == (
        [i for i in items if isinstance(i, Trip)],
        [i for i in items if isinstance(i, Stop)],
    )


@settings(max_examples=100, deadline=None)
@given(days(jitter_m=40.0), rules_strategy)
def test_a_jittery_parked_device_makes_no_trip(fixes, rules):
    trips, stops = detect(fixes, replace(rules, min_trip_distance_m=0, min_trip_duration_s=0))
    assert trips == []
    span = (fixes[-1].time - fixes[0].time).total_seconds() if fixes else 0
    if span >= rules.min_stop_duration_s and fixes:
        assert [(s.start_time, s.end_time) for s in stops] == [(fixes[0].time, fixes[-1].time)]


def test_defaults_are_sensible():
    assert TRIP_MIN_DISTANCE_M == 500.0
    assert Rules().min_stop_duration_s == STOP_MIN_DURATION_S
