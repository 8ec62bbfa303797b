"""When a fence is watched: days of the week and a daily window in a time zone. Pure."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ScheduleError(ValueError):
    """A schedule camtel will not accept; the message says what to fix."""


def _clock(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise ScheduleError(f'schedule.{name} must be a time like "08:30"')
    try:
        parsed = time.fromisoformat(value)
    except ValueError:
        raise ScheduleError(f'schedule.{name} must be a time like "08:30", not {value!r}') from None
    return parsed.strftime("%H:%M")


def check(raw: Any) -> dict[str, Any] | None:
    """A normalised schedule, or None for "always"; raises ScheduleError with the reason.

    `{"time_zone": "Europe/Berlin", "days": ["mon", ...], "start": "08:00", "end": "18:00"}`;
    every key is optional. A window whose end is before its start runs over midnight (and
    belongs to the day it starts on).
    """
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ScheduleError("schedule must be an object")
    unknown = set(raw) - {"time_zone", "days", "start", "end"}
    if unknown:
        raise ScheduleError(f"schedule has unknown keys: {', '.join(sorted(unknown))}")
    zone = raw.get("time_zone", "UTC")
    try:
        ZoneInfo(str(zone))
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"schedule.time_zone {zone!r} is not an IANA time zone") from None
    days = raw.get("days", list(DAYS))
    if not isinstance(days, list) or not days or any(d not in DAYS for d in days):
        raise ScheduleError(f"schedule.days must be a non-empty list of {', '.join(DAYS)}")
    start = _clock(raw.get("start", "00:00"), "start")
    raw_end = raw.get("end")
    end = "24:00" if raw_end in (None, "24:00") else _clock(raw_end, "end")
    if start == end:
        raise ScheduleError("schedule.start and schedule.end are the same: the window is empty")
    return {
        "time_zone": str(zone),
        "days": [d for d in DAYS if d in days],
        "start": start,
        "end": end,
    }


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def is_active(schedule: dict[str, Any] | None, when: datetime) -> bool:
    """Whether a fence with this (checked) schedule is watched at `when` (aware)."""
    if schedule is None:
        return True
    local = when.astimezone(ZoneInfo(schedule["time_zone"]))
    start, end = _minutes(schedule["start"]), _minutes(schedule["end"])
    now = local.hour * 60 + local.minute
    days = schedule["days"]
    today = DAYS[local.weekday()]
    if start < end:
        return today in days and start <= now < end
    yesterday = DAYS[(local.weekday() - 1) % 7]
    return (today in days and now >= start) or (yesterday in days and now < end)
