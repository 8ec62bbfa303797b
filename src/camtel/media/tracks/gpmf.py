"""GoPro GPMF telemetry (KLV): GPS5, GPS9 (HERO11+), Karma's GPRI and ACCL.

A GPMF payload is a tree of key-length-value entries: a four-character key, a type character,
a structure size and a repeat count, then the values padded to four bytes. Within a stream
(`STRM`) the entries before the data (SCAL, TYPE, GPSU, GPSF, GPSP) describe it.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from camtel.media import isobmff
from camtel.media.tracks.model import GSensorSample, TrackPoint, shifted

STANDARD_GRAVITY = 9.80665
MAX_NESTING = 8
_GPS_EPOCH_2000 = datetime(2000, 1, 1, tzinfo=UTC)
_FORMATS = {
    "b": "b",
    "B": "B",
    "c": "c",
    "s": "h",
    "S": "H",
    "l": "i",
    "L": "I",
    "j": "q",
    "J": "Q",
    "f": "f",
    "d": "d",
    "q": "i",
    "Q": "q",
    "F": "4s",
    "G": "16s",
    "U": "16s",
}
_FIXED = {"q": 65536.0, "Q": 4294967296.0}
GPS_KEYS = frozenset({"GPS5", "GPS9", "GPRI", "SYST"})  # what the GPS track is made of
WANTED = GPS_KEYS | {"ACCL"}
_RAW = {keys: frozenset(k.encode("latin-1") for k in keys) for keys in (GPS_KEYS, WANTED)}


class GpmfError(ValueError):
    """A GPMF entry does not fit in its payload."""


@dataclass(frozen=True, slots=True)
class Entry:
    key: str
    type: str
    size: int
    repeat: int
    data: bytes


def _headers(data: bytes, depth: int) -> Iterator[tuple[bytes, bytes, int, int, int]]:
    """(key, type, size, repeat, value offset) of each entry of one level, checked to fit."""
    if depth > MAX_NESTING:
        raise GpmfError("GPMF nested too deeply")
    offset = 0
    while offset + 8 <= len(data):
        key_raw, type_raw, size, repeat = struct.unpack_from(">4scBH", data, offset)
        if key_raw == b"\0\0\0\0":
            break  # padding at the end of a payload
        length = size * repeat
        start = offset + 8
        if start + length > len(data):
            raise GpmfError(f"GPMF entry {key_raw!r} at {offset} runs past its payload")
        yield key_raw, type_raw, size, repeat, start
        offset = start + ((length + 3) & ~3)


def entries(data: bytes, depth: int = 0) -> Iterator[Entry]:
    """The KLV entries of one level; raises GpmfError on a length past the end."""
    for key_raw, type_raw, size, repeat, start in _headers(data, depth):
        yield Entry(
            key_raw.decode("latin-1"),
            type_raw.decode("latin-1"),
            size,
            repeat,
            data[start : start + size * repeat],
        )


def values(entry: Entry, type_string: str | None = None) -> list[tuple]:
    """The entry's values, one tuple per repeat (a structure, or one scalar repeated)."""
    if entry.type == "?":
        if not type_string:
            return []
        codes = list(type_string)
    elif entry.type in _FORMATS:
        width = struct.calcsize(">" + _FORMATS[entry.type])
        if entry.type == "c":
            return [(entry.data.rstrip(b"\0").decode("latin-1"),)] if entry.data else []
        codes = [entry.type] * (entry.size // width if width else 0)
    else:
        return []
    if not codes or any(c not in _FORMATS for c in codes):
        return []
    layout = ">" + "".join(_FORMATS[c] for c in codes)
    width = struct.calcsize(layout)
    if width != entry.size:
        return []
    if not any(c in _FIXED for c in codes):
        return list(struct.iter_unpack(layout, entry.data))
    return [
        tuple(v / _FIXED[c] if c in _FIXED else v for c, v in zip(codes, row, strict=True))
        for row in struct.iter_unpack(layout, entry.data)
    ]


def _numbers(rows: list[tuple]) -> list[tuple]:
    """The rows that hold finite numbers only: a damaged file may type a GPS stream as text
    or fill it with NaN, and such a row says nothing."""
    return [
        row
        for row in rows
        if all(type(v) is int or (type(v) is float and math.isfinite(v)) for v in row)
    ]


def _scaled(rows: list[tuple], scale: list[float]) -> list[list[float]]:
    """Divide each column by its SCAL (one value for all columns, or one per column), in
    the rows of finite numbers."""
    rows = _numbers(rows)
    if not rows:
        return []
    width = len(rows[0])
    factors = scale if len(scale) == width else [scale[0] if scale else 1.0] * width
    inverse = [1 / f if f else 1.0 for f in factors]
    if width == 3:
        a, b, c = inverse
        return [[x * a, y * b, z * c] for x, y, z in rows]
    return [[v * f for v, f in zip(row, inverse, strict=False)] for row in rows]


def _gpsu(entry: Entry) -> datetime | None:
    text = entry.data[:16].decode("latin-1", errors="replace").strip("\0 ")
    try:
        parsed = datetime.strptime(text[:12], "%y%m%d%H%M%S").replace(tzinfo=UTC)
        return parsed + timedelta(seconds=float("0" + text[12:]) if text[12:] else 0.0)
    except ValueError:
        return None


@dataclass(slots=True)
class Telemetry:
    """Points per GPS stream (GPS9, GPS5, GPRI), G-sensor samples, warnings."""

    streams: dict[str, list[TrackPoint]] = field(default_factory=dict)
    gsensor: list[GSensorSample] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    no_lock: int = 0
    system_clock: list[tuple[float, float]] = field(default_factory=list)
    gpri_clock: list[float] = field(default_factory=list)

    def best(self) -> tuple[str | None, list[TrackPoint]]:
        """GPS9 when present (it timestamps every fix), then GPS5, then Karma's GPRI."""
        for key in ("GPS9", "GPS5", "GPRI"):
            if self.streams.get(key):
                return key, self.streams[key]
        return None, []


def _stream(
    items: list[Entry], start: float, duration: float, out: Telemetry, gsensor: bool
) -> None:
    scale: list[float] = []
    rows: Sequence[Sequence[Any]]  # raw values, then the same scaled to floats
    type_string = None
    gpsu = None
    fix = None
    dop = None
    for entry in items:
        if entry.key == "SCAL":
            scale = [float(x) for row in _numbers(values(entry)) for x in row]
        elif entry.key == "TYPE":
            type_string = entry.data.rstrip(b"\0").decode("latin-1")
        elif entry.key == "GPSU":
            gpsu = _gpsu(entry)
        elif entry.key == "GPSF":
            rows = _numbers(values(entry))
            fix = int(rows[0][0]) if rows else None
        elif entry.key == "GPSP":
            rows = _numbers(values(entry))
            dop = rows[0][0] / 100 if rows else None
        elif entry.key == "GPS5":
            rows = _scaled(values(entry), scale)
            step = duration / len(rows) if rows else 0.0
            if fix == 0:
                out.no_lock += len(rows)
                continue
            for i, r in enumerate(rows):
                if len(r) < 5:
                    continue
                when = shifted(gpsu, seconds=i * step)
                out.streams.setdefault("GPS5", []).append(
                    TrackPoint(
                        start + i * step, when, r[0], r[1], r[2], r[3] * 3.6, None, fix, None, dop
                    )
                )
        elif entry.key == "GPS9":
            rows = _scaled(values(entry, type_string or "lllllllSS"), scale)
            step = duration / len(rows) if rows else 0.0
            for i, r in enumerate(rows):
                if len(r) < 9:
                    continue
                if int(r[8]) == 0:
                    out.no_lock += 1
                    continue
                when = shifted(_GPS_EPOCH_2000, days=r[5], seconds=r[6])
                out.streams.setdefault("GPS9", []).append(
                    TrackPoint(
                        start + i * step,
                        when,
                        r[0],
                        r[1],
                        r[2],
                        r[3] * 3.6,
                        None,
                        int(r[8]),
                        None,
                        r[7],
                    )
                )
        elif entry.key == "GPRI":
            rows = _scaled(values(entry, type_string), scale)
            step = duration / len(rows) if rows else 0.0
            for i, r in enumerate(rows):
                if len(r) < 10:
                    continue
                if int(r[8]) < 2:
                    out.no_lock += 1
                    continue
                # r[0] is the drone's system clock; mapped to UTC through SYST later.
                out.streams.setdefault("GPRI", []).append(
                    TrackPoint(
                        start + i * step,
                        None,
                        r[1],
                        r[2],
                        r[3],
                        r[6] * 3.6,
                        r[7],
                        int(r[8]),
                        int(r[9]),
                        None,
                    )
                )
                out.gpri_clock.append(r[0])
        elif entry.key == "SYST":
            for r in _scaled(values(entry, type_string), scale):
                if len(r) == 2:
                    out.system_clock.append((r[0], r[1]))
        elif entry.key == "ACCL" and gsensor:
            rows = _scaled(values(entry), scale)
            step = duration / len(rows) if rows else 0.0
            for i, r in enumerate(rows):
                if len(r) == 3:
                    g = [v / STANDARD_GRAVITY for v in r]
                    out.gsensor.append(GSensorSample(start + i * step, g[0], g[1], g[2]))


def _walk(
    data: bytes, start: float, duration: float, out: Telemetry, gsensor: bool, depth: int = 0
) -> None:
    wanted = _RAW[WANTED if gsensor else GPS_KEYS]
    for entry in entries(data, depth):
        if entry.key == "DEVC" and entry.type == "\0":
            _walk(entry.data, start, duration, out, gsensor, depth + 1)
        elif entry.key == "STRM" and entry.type == "\0":
            # Every stream is walked, wanted or not: a malformed one makes the sample bad.
            keys = [key for key, *_ in _headers(entry.data, depth + 1)]
            if not wanted.isdisjoint(keys):
                _stream(list(entries(entry.data, depth + 1)), start, duration, out, gsensor)


def _apply_system_clock(out: Telemetry) -> None:
    """Give Karma GPRI fixes a UTC time by interpolating the SYST (system, unix) pairs."""
    raw = out.streams.get("GPRI")
    if not raw:
        return
    calibration = sorted(out.system_clock)
    if not calibration or len(out.gpri_clock) != len(raw):
        return
    timed = []
    for point, clock in zip(raw, out.gpri_clock, strict=True):
        unix = _interpolate(calibration, clock)
        timed.append(_with_time(point, datetime.fromtimestamp(unix, UTC)))
    out.streams["GPRI"] = timed


def _interpolate(table: list[tuple[float, float]], x: float) -> float:
    if len(table) == 1 or x <= table[0][0]:
        low, high = table[0], table[min(1, len(table) - 1)]
    elif x >= table[-1][0]:
        low, high = table[-2], table[-1]
    else:
        i = next(k for k in range(1, len(table)) if table[k][0] >= x)
        low, high = table[i - 1], table[i]
    if high[0] == low[0]:
        return low[1] + (x - low[0])
    return low[1] + (high[1] - low[1]) * (x - low[0]) / (high[0] - low[0])


def _with_time(point: TrackPoint, when: datetime) -> TrackPoint:
    return TrackPoint(
        point.offset_s,
        when,
        point.latitude,
        point.longitude,
        point.altitude_m,
        point.speed_kmh,
        point.course,
        point.fix,
        point.satellites,
        point.dop,
    )


def parse_payloads(
    payloads: Iterable[tuple[bytes, float, float]], *, gsensor: bool = True
) -> Telemetry:
    """Decode (payload, start seconds, duration seconds) samples; bad ones become warnings.

    With `gsensor=False` the accelerometer is not decoded (`gsensor` stays empty): the GPS
    streams and the warnings are the same, for a fraction of the work.
    """
    out = Telemetry()
    bad = 0
    for data, start, duration in payloads:
        try:
            _walk(data, start, duration, out, gsensor)
        except GpmfError:
            bad += 1
    if bad:
        out.warnings.append(f"{bad} GPMF samples were malformed and skipped")
    if out.no_lock:
        out.warnings.append(f"{out.no_lock} GPS samples without a satellite lock were skipped")
    _apply_system_clock(out)
    return out


def _stmp(block: bytes) -> float | None:
    """The first stream timestamp (microseconds) inside a DEVC, in seconds."""
    try:
        for devc in entries(block):
            for strm in entries(devc.data, 1) if devc.type == "\0" else ():
                for entry in entries(strm.data, 2) if strm.type == "\0" else ():
                    if entry.key == "STMP" and (rows := values(entry)):
                        return rows[0][0] / 1e6
    except GpmfError:
        return None
    return None


def parse_raw(data: bytes, *, gsensor: bool = True) -> Telemetry:
    """A bare GPMF stream (as demuxed with ffmpeg): DEVC blocks, timed by their STMP."""
    blocks: list[bytes] = []
    try:
        offset = 0
        for entry in entries(data):
            length = 8 + ((entry.size * entry.repeat + 3) & ~3)
            blocks.append(data[offset : offset + length])
            offset += length
    except GpmfError:
        pass
    starts = [_stmp(b) for b in blocks]
    if all(s is not None for s in starts) and starts:
        base = starts[0] or 0.0
        times = [(s or 0.0) - base for s in starts]
    else:
        times = [float(i) for i in range(len(blocks))]
    durations = [
        (times[i + 1] - times[i]) if i + 1 < len(times) else (times[i] - times[i - 1] if i else 1.0)
        for i in range(len(times))
    ]
    result = parse_payloads(zip(blocks, times, durations, strict=True), gsensor=gsensor)
    if not blocks:
        result.warnings.append("no GPMF data found")
    return result


def is_track(track: isobmff.Track) -> bool:
    """Whether this is a GoPro metadata track: sample format 'gpmd'."""
    return track.format == "gpmd"


def find_track(movie: isobmff.Movie) -> isobmff.Track | None:
    """The GoPro metadata track."""
    return next((t for t in movie.tracks if is_track(t)), None)


def parse_track(source: isobmff.Source, track: isobmff.Track, *, gsensor: bool = True) -> Telemetry:
    """Read each gpmd sample from the file and decode it."""
    payloads = ((source.read(s.offset, s.size), s.time_s, s.duration_s) for s in track.samples)
    return parse_payloads(payloads, gsensor=gsensor)
