"""Demo slots: the team's weekly hours in their own zone, cut into slots, daylight saving and
closed days respected; a start is refused when past, too soon or not offered. Pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from camtel.sales.availability import Availability, offered, refusal

BERLIN = Availability(
    time_zone="Europe/Berlin",
    slot_minutes=30,
    days_ahead=14,
    notice_minutes=60,
    hours={"mon": ("09:00-12:00",), "fri": ("09:00-10:00",)},
    closed=(datetime(2026, 12, 25).date(),),
)
MONDAY_EARLY = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)  # 07:00 in Berlin


def test_slots_follow_the_local_hours_in_utc():
    starts = offered(BERLIN, MONDAY_EARLY)
    monday = [s for s in starts if s.date() == MONDAY_EARLY.date()]
    # 09:00-12:00 in Berlin (UTC+1) is 08:00-11:00 UTC: six half hours.
    assert [s.strftime("%H:%M") for s in monday] == [
        "08:00", "08:30", "09:00", "09:30", "10:00", "10:30",
    ]  # fmt: skip
    assert all(s.tzinfo == UTC for s in starts)
    assert max(starts) < MONDAY_EARLY + timedelta(days=14)
    fridays = [s for s in starts if s.weekday() == 4]
    assert datetime(2026, 12, 25, 8, 0, tzinfo=UTC) not in fridays, "a closed day offers nothing"
    assert datetime(2026, 12, 11, 8, 30, tzinfo=UTC) in fridays


def test_notice_and_past_are_refused():
    at_nine = datetime(2026, 12, 7, 7, 40, tzinfo=UTC)  # 08:40 Berlin: 09:00 is too soon
    assert datetime(2026, 12, 7, 8, 0, tzinfo=UTC) not in offered(BERLIN, at_nine)
    assert refusal(BERLIN, datetime(2026, 12, 7, 8, 0, tzinfo=UTC), at_nine).code == "past"
    assert refusal(BERLIN, datetime(2026, 12, 1, 8, 0, tzinfo=UTC), at_nine).code == "past"
    assert refusal(BERLIN, datetime(2026, 12, 7, 9, 0, tzinfo=UTC), at_nine) is None
    off_grid = datetime(2026, 12, 7, 9, 10, tzinfo=UTC)
    assert refusal(BERLIN, off_grid, at_nine).code == "not_offered"
    tuesday = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)
    assert refusal(BERLIN, tuesday, at_nine).code == "not_offered"
    assert refusal(BERLIN, datetime(2026, 12, 7, 9, 0), at_nine).code == "not_offered"  # naive


def test_daylight_saving_changes_keep_local_times():
    sunday = Availability(
        time_zone="Europe/Berlin", slot_minutes=60, days_ahead=2, notice_minutes=0,
        hours={"sun": ("01:00-04:00",)},
    )  # fmt: skip
    # 29 March 2026: 02:00 does not exist in Berlin; 01:00 is UTC+1, 03:00 UTC+2.
    starts = offered(sunday, datetime(2026, 3, 28, 12, 0, tzinfo=UTC))
    assert [s.strftime("%d %H:%M") for s in starts] == ["29 00:00", "29 01:00"]
    # 25 October 2026: 02:00-03:00 happens twice (UTC+2, then UTC+1); it is offered once.
    starts = offered(sunday, datetime(2026, 10, 24, 12, 0, tzinfo=UTC))
    assert [s.strftime("%H:%M") for s in starts] == ["23:00", "00:00", "02:00"]


def test_bad_hours_and_zones_are_refused():
    with pytest.raises(ValidationError, match="09:00-12:30"):
        Availability(hours={"mon": ("9-12",)})
    with pytest.raises(ValidationError, match="ends before"):
        Availability(hours={"mon": ("12:00-09:00",)})
    with pytest.raises(ValidationError, match="unknown time zone"):
        Availability(time_zone="Mars/Olympus")
    all_day = Availability(hours={"sat": ("00:00-24:00",)}, slot_minutes=240, notice_minutes=0)
    local = [s.astimezone(all_day.zone) for s in offered(all_day, MONDAY_EARLY)]
    saturday = [s.strftime("%H:%M") for s in local if s.date().isoformat() == "2026-12-12"]
    assert saturday == ["00:00", "04:00", "08:00", "12:00", "16:00", "20:00"]
