"""When the sales team offers demos: weekly hours in their own time zone, cut into slots.

Pure: `offered()` lists the slot starts (UTC) from a moment on, `refusal()` says why a start
cannot be booked. Local times that do not exist (the spring-forward hour) are skipped;
ambiguous ones (the autumn hour that happens twice) are taken the first time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]|24):([0-5]\d)$")


def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name`, or ValueError."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None


def _span(text: str) -> tuple[time, time]:
    match = _SPAN.match(text.strip())
    if not match:
        raise ValueError(f"hours must look like 09:00-12:30, not {text!r}")
    h1, m1, h2, m2 = map(int, match.groups())
    start = time(h1, m1)
    end = time(23, 59, 59, 999999) if (h2, m2) == (24, 0) else time(h2, m2)
    if (h2, m2) != (24, 0) and end <= start:
        raise ValueError(f"{text!r} ends before it starts")
    return start, end


class Availability(BaseModel):
    """The `[demo]` section of the sales configuration."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    time_zone: str = Field("Europe/Berlin", description="The sales team's IANA time zone.")
    slot_minutes: int = Field(30, ge=5, le=240, description="Length of one demo.")
    days_ahead: int = Field(14, ge=1, le=90, description="How far ahead demos can be booked.")
    notice_minutes: int = Field(
        60, ge=0, le=7 * 24 * 60, description="Least time between booking and the demo."
    )
    hours: dict[Weekday, tuple[str, ...]] = Field(
        default_factory=dict,
        description='Local opening hours per weekday, e.g. mon = ["09:00-12:00", "13:00-17:00"].',
    )
    closed: tuple[date, ...] = Field((), description="Days without demos (holidays), local.")

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        zone(value)
        return value

    @field_validator("hours")
    @classmethod
    def _spans(cls, value: dict[Weekday, tuple[str, ...]]) -> dict[Weekday, tuple[str, ...]]:
        for spans in value.values():
            for text in spans:
                _span(text)
        return value

    @property
    def zone(self) -> ZoneInfo:
        return zone(self.time_zone)

    @property
    def slot(self) -> timedelta:
        return timedelta(minutes=self.slot_minutes)


def _local(day: date, at: time, tz: ZoneInfo) -> datetime | None:
    """The aware moment of wall-clock `at` on `day` in `tz`; None when it does not exist."""
    moment = datetime.combine(day, at, tzinfo=tz)
    back = moment.astimezone(UTC).astimezone(tz)
    if (back.date(), back.time()) != (day, at):
        return None  # skipped by a daylight-saving change
    return moment


def offered(availability: Availability, now: datetime) -> list[datetime]:
    """Every slot start (UTC) from `now` plus the notice, on today and the next
    `days_ahead - 1` days of the team's calendar."""
    tz, slot = availability.zone, availability.slot
    earliest = now + timedelta(minutes=availability.notice_minutes)
    today = now.astimezone(tz).date()
    starts: list[datetime] = []
    for offset in range(availability.days_ahead):
        day = today + timedelta(days=offset)
        if day in availability.closed:
            continue
        for text in availability.hours.get(WEEKDAYS[day.weekday()], ()):
            open_at, close_at = _span(text)
            cursor = datetime.combine(day, open_at)
            close = datetime.combine(day, close_at)
            while cursor + slot <= close + timedelta(microseconds=1):
                moment = _local(day, cursor.time(), tz)
                if moment is not None:
                    start = moment.astimezone(UTC)
                    if start >= earliest:
                        starts.append(start)
                cursor += slot
    return sorted(set(starts))


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a start cannot be booked: `past` or `not_offered`."""

    code: str
    message: str


def refusal(availability: Availability, start: datetime, now: datetime) -> Refusal | None:
    """None when `start` (aware) is an offered slot from `now` on, else why not. Pure."""
    if start.utcoffset() is None:
        return Refusal("not_offered", "the start must carry its time zone offset")
    start = start.astimezone(UTC)
    if start <= now:
        return Refusal("past", "this time has passed; choose one of the offered times")
    if start not in set(offered(availability, now)):
        if start < now + timedelta(minutes=availability.notice_minutes):
            return Refusal("past", "this time is too soon; choose one of the offered times")
        return Refusal(
            "not_offered", "demos are not offered at this time; choose one of the offered times"
        )
    return None
