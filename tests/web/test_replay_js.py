"""The history page's replay arithmetic (static/js/replay.js), run as a module in Debian's
Chromium on a blank page, without the app: the position at a time is found by timestamps and
interpolated, gaps hold the last fix, and the clock runs at its rate in wall time."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from jsmodules import Runner, module_runner

T0 = "2025-05-01T08:00:00Z"
MS0 = 1746086400000  # T0 in ms


@pytest.fixture(scope="module")
def run() -> Iterator[Runner]:
    with module_runner("replay.js") as runner:
        yield runner


FIXES = [
    {"time": "2025-05-01T08:00:00Z", "latitude": 52.0, "longitude": 13.0, "speed_kmh": 36},
    {"time": "2025-05-01T08:00:10Z", "latitude": 52.001, "longitude": 13.0, "speed_kmh": 72},
    # Sent out of order: the track sorts by time, not by the order the fixes came in.
    {"time": "2025-05-01T08:00:30Z", "latitude": 52.001, "longitude": 13.003, "speed_kmh": 0},
    {"time": "2025-05-01T08:00:20Z", "latitude": 52.001, "longitude": 13.001, "speed_kmh": 36},
    {"time": "2025-05-01T08:00:25Z", "latitude": 60.0, "longitude": 20.0, "valid": False},
    # Twenty minutes of silence, then one more fix.
    {"time": "2025-05-01T08:20:30Z", "latitude": 52.01, "longitude": 13.01, "speed_kmh": 10},
]


def test_the_position_at_a_time_is_interpolated_between_the_fixes_around_it(run: Runner) -> None:
    got = run(
        f"const tr = new m.Track({json.dumps(FIXES)});"
        f"return [2500, 15000, 25000, 30000].map((d) => tr.at({MS0} + d)).concat([tr.length]);"
    )
    quarter, middle, later, exact, length = got
    assert length == 5  # the invalid fix is left out
    assert quarter["lat"] == pytest.approx(52.00025) and quarter["lon"] == pytest.approx(13.0)
    assert quarter["speed"] == pytest.approx(45)
    assert quarter["course"] == pytest.approx(0, abs=1e-6)  # heading north
    assert middle["lat"] == pytest.approx(52.001) and middle["lon"] == pytest.approx(13.0005)
    assert middle["course"] == pytest.approx(90, abs=0.1)  # heading east
    assert later["lon"] == pytest.approx(13.002) and not later["stale"]
    assert exact["lon"] == pytest.approx(13.003) and exact["index"] == 3


def test_a_gap_holds_the_last_fix_dimmed_and_the_ends_hold_the_first_and_last(run: Runner) -> None:
    got = run(
        f"const tr = new m.Track({json.dumps(FIXES)});"
        f"return [-60000, 0, 600000, 1230000, 1230000 + 400000].map((d) => tr.at({MS0} + d));"
    )
    before, first, gap, last, long_after = got
    assert before["stale"] and before["lat"] == 52.0
    assert not first["stale"] and first["lat"] == 52.0
    assert gap["stale"] and gap["lon"] == 13.003  # where it last reported
    assert not last["stale"] and last["lat"] == 52.01
    assert long_after["stale"] and long_after["lat"] == 52.01
    # No heading was reported: the last fix points the way the vehicle came.
    assert long_after["course"] == gap["course"] == pytest.approx(25.6, abs=0.5)


def test_a_track_over_the_antimeridian_goes_the_short_way(run: Runner) -> None:
    fixes = [
        {"time": T0, "latitude": -17.0, "longitude": 179.9},
        {"time": "2025-05-01T08:00:10Z", "latitude": -17.0, "longitude": -179.9},
    ]
    got = run(f"return new m.Track({json.dumps(fixes)}).at({MS0} + 7500);")
    assert got["lon"] == pytest.approx(-179.95)


def test_the_binary_search_finds_the_last_time_at_or_before(run: Runner) -> None:
    got = run(
        "const times = [10, 20, 20, 30];"
        "return [5, 10, 15, 20, 25, 30, 99].map((t) => m.lastAtOrBefore(times, t));"
    )
    assert got == [-1, 0, 0, 2, 2, 3, 3]


def test_the_clock_runs_at_its_rate_in_wall_time_and_stops_at_the_end(run: Runner) -> None:
    got = run(
        "const c = new m.Clock(); c.setRange(1000, 61000); c.rate = 16;"
        "const seen = [c.time]; c.advance(1000); seen.push(c.time);"  # paused: no change
        "c.play(); c.advance(1000); seen.push(c.time);"  # 1 s real = 16 s replay
        "c.rate = 8; c.advance(500); seen.push(c.time);"
        "const ended = c.advance(60000); seen.push(c.time, ended, c.playing);"
        "c.play(); seen.push(c.time);"  # playing again from the end starts over
        "c.setRange(0, 30000); seen.push(c.time); c.setRange(50000, 90000); seen.push(c.time);"
        "return seen;"
    )
    assert got == [1000, 1000, 17000, 21000, 61000, True, False, 1000, 1000, 50000]
