"""70mai dash cams: a top-level `GPS ` box of 36-byte little-endian records.

Layout (ExifTool's QuickTimeStream.pl): int32 1, int32 1, int32 seconds from the start of the
video, int32 speed (km/h * 1000), char N/S, int32 latitude (DDMM.MMM * 1000), char E/W,
int32 longitude (DDDMM.MMM * 1000), padding. An all-zero record ends the list. The box holds
no date, so UTC times are the movie's creation time plus the offset.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime

from camtel.media.tracks.model import TrackPoint, shifted
from camtel.media.tracks.novatek import ddmm

RECORD = 36
_LAYOUT = struct.Struct("<IIIIcIcI")


def parse(payload: bytes, creation_unix: int | None) -> tuple[list[TrackPoint], list[str]]:
    """Points from a `GPS ` box payload; times only when the movie has a creation time."""
    points: list[TrackPoint] = []
    warnings: list[str] = []
    start = datetime.fromtimestamp(creation_unix, UTC) if creation_unix else None
    skipped = 0
    for offset in range(0, len(payload) - RECORD + 1, RECORD):
        record = payload[offset : offset + RECORD]
        if record == b"\0" * RECORD:
            break
        _one, _two, seconds, speed, lat_ref, lat, lon_ref, lon = _LAYOUT.unpack_from(record)
        if lat_ref not in (b"N", b"S") or lon_ref not in (b"E", b"W"):
            skipped += 1
            continue
        latitude, longitude = ddmm(lat / 1e3), ddmm(lon / 1e3)
        if lat_ref == b"S":
            latitude = -latitude
        if lon_ref == b"W":
            longitude = -longitude
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            skipped += 1
            continue
        when = shifted(start, seconds=seconds)
        points.append(TrackPoint(float(seconds), when, latitude, longitude, None, speed / 1e3))
    if skipped:
        warnings.append(f"{skipped} 70mai GPS records without a valid position were skipped")
    if points and start is not None:
        warnings.append("70mai times are the file's creation time plus each offset")
    return points, warnings
