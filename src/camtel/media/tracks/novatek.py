"""Novatek `freeGPS ` blocks, with or without the `moov/gps ` index, in the layouts ExifTool names.

Each block is a box (`size`, `freeGPS `, then a little-endian length) holding one fix.
Layouts follow ExifTool's QuickTimeStream.pl: the classic record at 0x30 (Viofo A119S and
most Novatek cameras, block length 0x4c), type 1 (ASCII XORed with 0xaa: Azdome, EEEkit),
type 3 (Viofo A119 v3, Kenwood) and type 15 (Vantrue N4, doubles). Latitude and longitude
are DDDMM.MMMM unless said otherwise; speeds are knots unless said otherwise.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime

from camtel.media import isobmff
from camtel.media.tracks.model import GSensorSample, TrackPoint

SIGNATURE = b"freeGPS "
KNOTS_TO_KMH = 1.852
MAX_BLOCK = 1 << 20
_TYPE1_KEY = b"\xaa\xaa\xf2\xe1\xf0\xee\x54\x54"
_TYPE1 = re.compile(
    rb"^.{8}(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2}).(.{15})([NS])(\d{8})([EW])(\d{9})(\d{8})?",
    re.S,
)
_TYPE1_ACC = re.compile(rb"^.{65}([-+]\d{3})([-+]\d{3})([-+]\d{3})", re.S)
_TYPE1_ACC_AZDOME = re.compile(rb"^.{173}([-+]\d{3})([-+]\d{3})([-+]\d{3})", re.S)
_BASE64 = re.compile(rb"^[A-Za-z0-9+/]{8,20}={0,2}\0*$")
_DECIMAL = re.compile(rb"^\d{1,5}\.\d+\0*$")


@dataclass(slots=True)
class Fix:
    """One decoded block before it is placed on the video's timeline."""

    time: datetime | None
    latitude: float
    longitude: float
    speed_kmh: float | None = None
    course: float | None = None
    altitude_m: float | None = None
    accel: tuple[float, float, float] | None = None
    ordinal: int = 0  # which block of the file: Novatek writes one a second


@dataclass(slots=True)
class Decoded:
    fixes: list[Fix] = field(default_factory=list)
    unsupported: dict[str, int] = field(default_factory=dict)
    unknown: int = 0
    void: int = 0


def ddmm(value: float) -> float:
    """DDDMM.MMMM to degrees (sign preserved)."""
    degrees = int(value / 100)
    return degrees + (value - degrees * 100) / 60


def _when(
    year: int, month: int, day: int, hour: int, minute: int, second: float
) -> datetime | None:
    if year < 2000:
        year += 2000
    try:
        whole = int(second)
        return datetime(
            year, month, day, hour, minute, whole, int((second - whole) * 1e6), tzinfo=UTC
        )
    except (ValueError, OverflowError):
        return None


def _signed(lat: float, lat_ref: int, lon: float, lon_ref: int) -> tuple[float, float]:
    return (
        -abs(lat) if lat_ref == ord("S") else abs(lat),
        -abs(lon) if lon_ref == ord("W") else abs(lon),
    )


def _classic(b: bytes) -> Fix | None:
    """Record at 0x30: int32 h, m, s, y, mo, d; 'A', N/S, E/W; float lat, lon, knots, course."""
    if len(b) < 0x5C:
        return None
    hour, minute, sec, year, month, day = struct.unpack_from("<6I", b, 0x30)
    lat, lon, knots, course = struct.unpack_from("<4f", b, 0x4C)
    lat, lon = ddmm(lat), ddmm(lon)
    altitude = None
    if len(b) >= 0xA8:  # Transcend Driver Pro also stores doubles in decimal degrees
        lat2, lon2 = struct.unpack_from("<d", b, 0x70)[0], struct.unpack_from("<d", b, 0x80)[0]
        if abs(lat2 - lat) < 0.001 and abs(lon2 - lon) < 0.001:
            lat, lon = lat2, lon2
            altitude = struct.unpack_from("<d", b, 0xA0)[0]
    lat, lon = _signed(lat, b[0x49], lon, b[0x4A])
    return Fix(
        _when(year, month, day, hour, minute, sec), lat, lon, knots * KNOTS_TO_KMH, course, altitude
    )


def _type1(b: bytes) -> Fix | None:
    """ASCII XORed with 0xaa from byte 18: date, label, N lat*1e4 (DDMM), E lon*1e4, km/h."""
    plain = bytes(x ^ 0xAA for x in b[18 : 18 + 0x101])
    match = _TYPE1.match(plain)
    if not match:
        return None
    g = match.groups()
    lat, lon = ddmm(int(g[8]) / 1e4), ddmm(int(g[10]) / 1e4)
    speed = float(int(g[11])) if g[11] else None
    if speed is None and (extra := re.match(rb"^.{57}([-+]\d{4})(\d{3})", plain, re.S)):
        speed = float(int(extra.group(2)))
    accel = None
    acc = _TYPE1_ACC.match(plain) or _TYPE1_ACC_AZDOME.match(plain)
    if acc:
        accel = (int(acc.group(1)) / 100, int(acc.group(2)) / 100, int(acc.group(3)) / 100)
    lat, lon = _signed(lat, g[7][0], lon, g[9][0])
    when = _when(int(g[0]), int(g[1]), int(g[2]), int(g[3]), int(g[4]), int(g[5]))
    return Fix(when, lat, lon, speed, None, None, accel)


def _type3(b: bytes) -> Fix | None:
    """Record at 0x10: int32 h, m, s, y, mo, d; 'A' N/S E/W at 0x28; floats from 0x2c."""
    if len(b) < 0x48:
        return None
    hour, minute, sec, year, month, day = struct.unpack_from("<6I", b, 0x10)
    lat, lon, knots, course = struct.unpack_from("<4f", b, 0x2C)
    raw = b[60:72]
    accel = None
    if raw not in (b"\0" * 12, b"\x01\x00\x02\x00\x03\x00\x04\x00\x05\x00\x06\x00"):
        x, y, z = struct.unpack("<3i", raw)
        accel = (x / 256, y / 256, z / 256)
    lat, lon = _signed(ddmm(lat), b[0x29], ddmm(lon), b[0x2A])
    return Fix(
        _when(year, month, day, hour, minute, sec),
        lat,
        lon,
        knots * KNOTS_TO_KMH,
        course,
        None,
        accel,
    )


def _type15(b: bytes) -> Fix | None:
    """Vantrue N4: int32 h, m, s at 0x10; doubles lat 0x20, lon 0x30, knots 0x40, course 0x48."""
    if len(b) < 0x68:
        return None
    hour, minute, sec = struct.unpack_from("<3I", b, 0x10)
    lat, lon, knots, course = (struct.unpack_from("<d", b, o)[0] for o in (0x20, 0x30, 0x40, 0x48))
    year, month, day = struct.unpack_from("<3I", b, 0x50)
    x, y, z = struct.unpack_from("<3i", b, 0x5C)
    lat, lon = _signed(ddmm(abs(lat)), b[0x28], ddmm(abs(lon)), b[0x38])
    return Fix(
        _when(year, month, day, hour, minute, sec),
        lat,
        lon,
        knots * KNOTS_TO_KMH,
        course,
        None,
        (x / 1000, y / 1000, z / 1000),
    )


def classify(block: bytes) -> str:
    """Name the layout of a block the way ExifTool's checks would, in the same order."""
    if len(block) < 82 or block[4:12] != SIGNATURE:
        return "invalid"
    if block[18:26] == _TYPE1_KEY:
        return "type1"
    if (
        block[37:40] == b"\0\0\0"
        and block[40:41] == b"A"
        and block[41:42] in (b"N", b"S")
        and block[42:43] in (b"E", b"W")
        and block[43:44] == b"\0"
    ):
        if len(block) >= 0x78 and any(
            _BASE64.match(block[o : o + 20]) or _DECIMAL.match(block[o : o + 20])
            for o in (0x2C, 0x40)
        ):
            return "unsupported:lucky-encrypted"
        return "type3"
    if b"LIGOGPSINFO\0" in block[:0x60]:
        return "unsupported:LigoGPS-encrypted"
    if block[0x45:0x48] == b"ATC":
        return "unsupported:ATC-encrypted"
    if block[60:66] == b"4W`b]S":
        return "unsupported:shifted-NMEA"
    if (
        len(block) >= 57
        and block[28:29] == b"A"
        and block[40:41] in (b"N", b"S")
        and block[56:57] in (b"E", b"W")
    ):
        return "type15"
    if (
        len(block) >= 0x5C
        and block[0x48:0x49] in (b"A", b"V")
        and block[0x49:0x4A] in (b"N", b"S")
        and block[0x4A:0x4B] in (b"E", b"W")
    ):
        return "classic"
    return "unknown"


_DECODERS = {"type1": _type1, "type3": _type3, "type15": _type15, "classic": _classic}


def decode_block(block: bytes, into: Decoded, ordinal: int = 0) -> None:
    """Decode one block; void fixes, unknown and encrypted layouts are counted, not raised."""
    kind = classify(block)
    if kind.startswith("unsupported:"):
        name = kind.split(":", 1)[1]
        into.unsupported[name] = into.unsupported.get(name, 0) + 1
        return
    decoder = _DECODERS.get(kind)
    if decoder is None:
        into.unknown += 1
        return
    if kind == "classic" and block[0x48:0x49] != b"A":
        into.void += 1
        return
    try:
        fix = decoder(block)
    except (struct.error, ValueError):
        fix = None
    if fix is None or not (-90 <= fix.latitude <= 90 and -180 <= fix.longitude <= 180):
        into.void += 1
        return
    fix.ordinal = ordinal
    into.fixes.append(fix)


def indexed_blocks(source: isobmff.Source, gps_box: isobmff.Box) -> list[tuple[int, int]]:
    """(offset, size) pairs from the `moov/gps ` index: version, count, then pairs."""
    payload = source.read(gps_box.start, gps_box.payload_size)
    if len(payload) < 8:
        return []
    (count,) = struct.unpack_from(">I", payload, 4)
    count = min(count, (len(payload) - 8) // 8)
    return [struct.unpack_from(">II", payload, 8 + i * 8) for i in range(count)]


def scan_blocks(
    source: isobmff.Source, region: isobmff.Box, chunk: int = 8 << 20
) -> list[tuple[int, int]]:
    """Find blocks in media data by their signature, reading `chunk` bytes at a time."""
    found: list[tuple[int, int]] = []
    position = region.start
    while position < region.end:
        length = min(chunk + 16, region.end - position)
        data = source.read(position, length)
        at = data.find(SIGNATURE, 4)
        while at >= 0:
            start = position + at - 4
            (size,) = struct.unpack_from(">I", data, at - 4)
            if 12 <= size <= MAX_BLOCK and start + size <= region.end:
                found.append((start, size))
            at = data.find(SIGNATURE, at + 8)
        position += chunk
    # A signature straddling the overlap would be seen twice.
    return sorted(set(found))


def read(source: isobmff.Source, movie: isobmff.Movie) -> tuple[Decoded, bool]:
    """Decode every block, from the index when the file has one; (result, had blocks)."""
    gps_box = isobmff.first(movie.moov_children, "gps ")
    places = indexed_blocks(source, gps_box) if gps_box is not None else []
    if not places:
        for box in movie.top:
            if box.type == "mdat":
                places.extend(scan_blocks(source, box))
    decoded = Decoded()
    for ordinal, (offset, size) in enumerate(places):
        if size < 12 or size > MAX_BLOCK or offset + size > source.size:
            decoded.unknown += 1
            continue
        decode_block(source.read(offset, size), decoded, ordinal)
    return decoded, bool(places)


def to_track(decoded: Decoded) -> tuple[list[TrackPoint], list[GSensorSample], list[str]]:
    """Place fixes on the video timeline: Novatek cameras write one block a second."""
    points: list[TrackPoint] = []
    gsensor: list[GSensorSample] = []
    for fix in decoded.fixes:
        offset = float(fix.ordinal)
        points.append(
            TrackPoint(
                offset,
                fix.time,
                fix.latitude,
                fix.longitude,
                fix.altitude_m,
                fix.speed_kmh,
                fix.course,
            )
        )
        if fix.accel is not None:
            gsensor.append(GSensorSample(offset, *fix.accel))
    warnings = [
        f"{count} Novatek GPS blocks use an encrypted layout ({name}) camtel cannot read yet"
        for name, count in decoded.unsupported.items()
    ]
    if decoded.unknown:
        warnings.append(f"{decoded.unknown} Novatek GPS blocks have an unknown layout")
    if decoded.void:
        warnings.append(f"{decoded.void} Novatek GPS blocks hold no valid fix")
    return points, gsensor, warnings
