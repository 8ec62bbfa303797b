"""Computed distance and motion, as a pure state machine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from camtel import geo
from camtel.messages import Position
from camtel.pipeline import motion

T0 = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


def at(seconds: int, lat: float, lon: float = 13.4, speed: float | None = 40.0,
       valid: bool = True) -> Position:
    return Position("osmand", "van", T0 + timedelta(seconds=seconds), lat, lon,
                    valid=valid, speed_kmh=speed)


def test_distance_of_one_degree_of_latitude():
    assert geo.distance_m(at(0, 52.0), at(0, 53.0)) == pytest.approx(111_195, rel=1e-3)


def test_distance_is_the_haversine_stored_values_were_made_with():
    """`distance_m` of stored positions and trip lengths use this very formula and radius,
    not the WGS 84 geodesic: the numbers must not move by a metre."""
    berlin, paris = at(0, 52.52, 13.405), at(0, 48.8566, 2.3522)
    assert geo.distance_m(berlin, paris) == 877464.5379215094
    assert geo.distance_m(at(0, 0.0, 179.9), at(0, 0.0, -179.9)) == 22239.016046706758
    assert geo.kmh(1000.0, 3600.0) == 1.0


def test_distance_adds_up_consecutive_fixes():
    state = motion.MotionState()
    assert motion.advance(state, at(0, 52.0))["total_distance_m"] == 0
    step = motion.advance(state, at(60, 52.01))
    assert step["distance_m"] == pytest.approx(1112, rel=1e-2)
    assert step["motion"] is True
    total = motion.advance(state, at(120, 52.02))["total_distance_m"]
    assert total == pytest.approx(2224, rel=1e-2)


def test_late_and_invalid_fixes_do_not_add_distance():
    state = motion.MotionState()
    motion.advance(state, at(0, 52.0))
    motion.advance(state, at(60, 52.01))
    before = state.total_distance_m
    late = motion.advance(state, at(30, 52.5))
    assert "total_distance_m" not in late and state.total_distance_m == before
    invalid = motion.advance(state, at(90, 0.0, 0.0, valid=False))
    assert invalid["total_distance_m"] == round(before, 1)
    assert state.last is not None and state.last.latitude == 52.01


def test_teleport_is_not_distance():
    state = motion.MotionState()
    motion.advance(state, at(0, 52.0))
    jump = motion.advance(state, at(10, 40.0))  # 1300 km in 10 s
    assert jump["distance_m"] == 0 and state.total_distance_m == 0
    assert state.last is not None and state.last.latitude == 40.0, "the jump is the new reference"


def test_parked_jitter_is_not_distance_and_motion_has_hysteresis():
    state = motion.MotionState()
    motion.advance(state, at(0, 52.0, speed=0.0))
    wander = motion.advance(state, at(60, 52.0001, speed=0.0))  # 11 m
    assert wander == {"motion": False, "distance_m": 0.0, "total_distance_m": 0.0}
    assert motion.advance(state, at(120, 52.0002, speed=4.0))["motion"] is False, "below start"
    assert motion.advance(state, at(180, 52.001, speed=6.0))["motion"] is True
    assert motion.advance(state, at(240, 52.002, speed=3.0))["motion"] is True, "above stop"
    assert motion.advance(state, at(300, 52.002, speed=1.0))["motion"] is False


def test_speed_is_implied_when_the_device_sends_none():
    state = motion.MotionState()
    motion.advance(state, at(0, 52.0, speed=None))
    assert motion.advance(state, at(60, 52.01, speed=None))["motion"] is True  # ~67 km/h
