"""The sanity check every decoded position passes, and the decoders' use of it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from camtel.messages import Position, Rejected
from camtel.protocols.base import MAX_SPEED_KMH, keep_plausible, position_problem

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
FIX = Position("jt808", "013912345678", NOW, 22.5, 114.0, speed_kmh=40.0, course=90.0)


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({}, None),
        ({"latitude": 90.0, "longitude": -180.0, "course": 0.0, "speed_kmh": 0.0}, None),
        ({"latitude": 90.01}, "latitude_out_of_range"),
        ({"longitude": -180.5}, "longitude_out_of_range"),
        ({"course": 360.0}, "course_out_of_range"),
        ({"speed_kmh": -1.0}, "speed_out_of_range"),
        ({"speed_kmh": MAX_SPEED_KMH + 1}, "speed_out_of_range"),
        ({"time": NOW.replace(tzinfo=None)}, "time_without_zone"),
        ({"time": NOW + timedelta(days=1, seconds=1)}, "time_in_future"),
        ({"time": NOW + timedelta(hours=23), "course": None, "speed_kmh": None}, None),
    ],
)
def test_position_problem(changes, problem):  # type: ignore[no-untyped-def]
    assert position_problem(replace(FIX, **changes), NOW) == problem


def test_keep_plausible_drops_the_impossible_and_names_the_first_problem():
    far, fast = replace(FIX, latitude=91.0), replace(FIX, speed_kmh=5000.0)
    decoded = keep_plausible([FIX, far, fast, FIX], NOW)
    assert decoded.messages == [FIX, FIX]
    assert decoded.rejected == Rejected("implausible_position:latitude_out_of_range")
    assert decoded.replies == []


def test_keep_plausible_of_nothing_wrong_rejects_nothing():
    assert keep_plausible([], NOW).rejected is None
    assert keep_plausible(iter([FIX]), NOW).messages == [FIX]
