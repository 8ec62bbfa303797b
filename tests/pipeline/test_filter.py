"""The filter stage's decisions, as pure functions: no database, no event loop."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from camtel.dedup import dedup_key
from camtel.messages import Position
from camtel.pipeline import filter as f

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


def fix(seconds: int = 0, **changes) -> Position:  # type: ignore[no-untyped-def]
    base = Position("jt808", "013912345678", NOW + timedelta(seconds=seconds), 22.5, 114.0,
                    speed_kmh=40.0, course=90.0, serial=7)
    return replace(base, **changes)


def judge(position: Position, state: f.FilterState | None = None) -> str | None:
    return f.judge(position, dedup_key(position), state or f.FilterState(), NOW)


def test_plausible_fix_passes():
    assert judge(fix()) is None


def test_invalid_fix_flag_is_kept():
    assert judge(fix(valid=False)) is None
    assert judge(fix(valid=False, latitude=0.0, longitude=0.0)) is None, "no fix yet, still news"


def test_impossible_values_are_dropped():
    assert judge(fix(latitude=91.0)) == "latitude_out_of_range"
    assert judge(fix(longitude=-181.0)) == "longitude_out_of_range"
    assert judge(fix(course=360.0)) == "course_out_of_range"
    assert judge(fix(speed_kmh=5000.0)) == "speed_out_of_range"
    assert judge(fix(valid=True, latitude=0.0, longitude=0.0)) == "null_island"
    assert judge(fix(time=datetime(1980, 1, 6, tzinfo=UTC))) == "time_not_set"


def test_far_future_is_dropped_near_future_kept():
    assert judge(fix(seconds=2 * 86_400)) == "time_in_future"
    assert judge(fix(seconds=3600)) is None, "a clock an hour fast is still a fix"


def test_a_stored_fix_sent_again_is_a_duplicate_even_with_a_new_serial():
    state = f.FilterState()
    first = fix()
    f.remember(state, first, dedup_key(first))
    assert judge(fix(serial=8), state) == "duplicate", "terminals resend with a fresh serial"
    assert judge(fix(speed_kmh=41.0), state) is None, "same second, other content: kept"


def test_duplicates_are_only_known_once_stored():
    state = f.FilterState()
    assert judge(fix(), state) is None
    assert judge(fix(), state) is None, "not remembered before it is durable"


def test_duplicate_window_is_bounded():
    state = f.FilterState()
    first = fix()
    f.remember(state, first, dedup_key(first))
    for n in range(1, f.RECENT + 1):
        later = fix(n)
        f.remember(state, later, dedup_key(later))
    assert len(state.stored) == f.RECENT
    assert judge(first, state) is None, "older than the window: the unique key decides"


def test_out_of_order_fixes_are_kept_and_marked_late():
    state = f.FilterState()
    newer = fix(60)
    f.remember(state, newer, dedup_key(newer))
    older = fix(30)
    assert f.is_late(older, state)
    assert judge(older, state) is None, "uploads from the device's store are history, kept"
    assert not f.is_late(fix(90), state)


def test_dedup_key_depends_on_content_not_serial():
    assert dedup_key(fix(serial=1)) == dedup_key(fix(serial=2))
    assert dedup_key(fix()) != dedup_key(fix(latitude=22.6))
    assert dedup_key(fix()) != dedup_key(fix(attributes={"power": 12.1}))
    assert -(2**63) <= dedup_key(fix()) < 2**63, "fits the dedup column (BIGINT)"


def test_dedup_key_never_changes():
    """Stored rows carry this key: the same fix must keep the very same number forever."""
    stored = Position(
        "jt808", "013912345678", datetime(2024, 5, 1, 8, 30, 15, tzinfo=UTC), 22.543096,
        114.057865, True, 42.5, 181.0, 12.0, 5.0, "gps", 7, ("overspeed", "sos"),
        {"ignition": True, "odometer_m": 123400, "power": 12.6},
    )  # fmt: skip
    assert dedup_key(stored) == -5422331437739732963
    bare = Position("jt808", "x", datetime(2000, 1, 2, tzinfo=UTC), 0.0, 0.0)
    assert dedup_key(bare) == -4847367979224798328
