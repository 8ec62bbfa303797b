"""NMEA 0183 RMC and GGA sentences, checksums verified, merged into one point per fix time.

Used for BlackVue `gps ` boxes (each line led by a `[milliseconds]` timecode), NMEA text
subtitle tracks and `.nmea`/`.gps` sidecar files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import reduce
from operator import xor

from camtel.media.tracks.model import TrackPoint

KNOTS_TO_KMH = 1.852
_SENTENCE = re.compile(rb"(?:\[(\d{1,16})\])?\$([A-Z]{2})(RMC|GGA),([^*\r\n$]*)\*([0-9A-Fa-f]{2})")


@dataclass(slots=True)
class Sentence:
    """One checked sentence: its type, fields and the timecode that led it, if any."""

    kind: str
    fields: list[str]
    timecode_ms: int | None


def checksum_ok(body: bytes, checksum: bytes) -> bool:
    """The XOR of the characters between `$` and `*` equals the two hex digits."""
    return reduce(xor, body, 0) == int(checksum, 16)


def sentences(data: bytes) -> tuple[list[Sentence], int]:
    """Every RMC/GGA sentence with a good checksum, and how many had a bad one."""
    found: list[Sentence] = []
    bad = 0
    for match in _SENTENCE.finditer(data):
        stamp, talker, kind, body, check = match.groups()
        if not checksum_ok(talker + kind + b"," + body, check):
            bad += 1
            continue
        text = body.decode("ascii", errors="replace")
        found.append(Sentence(kind.decode(), text.split(","), int(stamp) if stamp else None))
    return found, bad


def _coordinate(value: str, hemisphere: str) -> float | None:
    """DDDMM.MMMM and a hemisphere letter to signed degrees."""
    if not value or hemisphere not in {"N", "S", "E", "W"}:
        return None
    try:
        raw = float(value)
    except ValueError:
        return None
    degrees = int(raw / 100)
    result = degrees + (raw - degrees * 100) / 60
    return -result if hemisphere in {"S", "W"} else result


def _clock(value: str) -> time | None:
    if len(value) < 6 or not value[:6].isdigit():
        return None
    try:
        seconds = float(value[4:])
        whole = int(seconds)
        micro = round((seconds - whole) * 1e6) % 1_000_000
        return time(int(value[:2]), int(value[2:4]), whole, micro)
    except ValueError:
        return None


def _date(value: str) -> date | None:
    if len(value) != 6 or not value.isdigit():
        return None
    year = int(value[4:6])
    try:
        return date(year + (1900 if year >= 70 else 2000), int(value[2:4]), int(value[:2]))
    except ValueError:
        return None


def _float(value: str) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def points(data: bytes, start_ms: int | None = None) -> tuple[list[TrackPoint], list[str]]:
    """Fixes from NMEA text: RMC gives date, position, speed, course; GGA adds altitude.

    A fix is emitted per distinct UTC time of day; GGA-only fixes take the date of the last
    RMC. Offsets come from `[ms]` timecodes relative to `start_ms` (or the first timecode),
    else from the UTC time relative to the first fix.
    """
    found, bad = sentences(data)
    warnings = [f"{bad} NMEA sentences with a bad checksum were skipped"] if bad else []
    merged: dict[str, dict] = {}
    order: list[str] = []
    for sentence in found:
        f = sentence.fields
        if sentence.kind == "RMC" and len(f) >= 9:
            key = f[0]
            entry = merged.setdefault(key, {})
            if key not in order:
                order.append(key)
            entry.update(
                clock=_clock(f[0]),
                valid=f[1] == "A",
                lat=_coordinate(f[2], f[3]),
                lon=_coordinate(f[4], f[5]),
                speed=_float(f[6]),
                course=_float(f[7]),
                day=_date(f[8]),
                tc=sentence.timecode_ms,
            )
        elif sentence.kind == "GGA" and len(f) >= 9:
            key = f[0]
            entry = merged.setdefault(key, {})
            if key not in order:
                order.append(key)
            entry.setdefault("clock", _clock(f[0]))
            entry.setdefault("lat", _coordinate(f[1], f[2]))
            entry.setdefault("lon", _coordinate(f[3], f[4]))
            entry.setdefault("tc", sentence.timecode_ms)
            quality = int(f[5]) if f[5].isdigit() else 0
            entry.setdefault("valid", quality > 0)
            entry.update(
                quality=quality,
                sats=int(f[6]) if f[6].isdigit() else None,
                hdop=_float(f[7]),
                alt=_float(f[8]),
            )
    result: list[TrackPoint] = []
    last_day: date | None = None
    first_time: datetime | None = None
    first_tc = start_ms
    for key in order:
        e = merged[key]
        if e.get("day"):
            last_day = e["day"]
        if not e.get("valid") or e.get("lat") is None or e.get("lon") is None:
            continue
        when = None
        if e.get("clock") is not None and last_day is not None:
            when = datetime.combine(last_day, e["clock"], tzinfo=UTC)
        if first_time is None and when is not None:
            first_time = when
        tc = e.get("tc")
        if tc is not None and first_tc is None:
            first_tc = tc
        if tc is not None and first_tc is not None:
            offset = (tc - first_tc) / 1000
        elif when is not None and first_time is not None:
            offset = (when - first_time) / timedelta(seconds=1)
        else:
            offset = 0.0
        speed = e.get("speed")
        result.append(
            TrackPoint(
                offset_s=offset,
                time=when,
                latitude=e["lat"],
                longitude=e["lon"],
                altitude_m=e.get("alt"),
                speed_kmh=speed * KNOTS_TO_KMH if speed is not None else None,
                course=e.get("course"),
                fix=None,
                satellites=e.get("sats"),
                dop=e.get("hdop"),
            )
        )
    return result, warnings
