"""BlackVue (Pittasoft) recordings: a top-level `free` box holding `gps `, `3gf ` and `sttm`.

`gps ` is NMEA text, each line led by `[milliseconds since the epoch]`; `sttm` is the start of
the recording in the same clock (8 bytes, big-endian); `3gf ` is 10-byte big-endian records:
uint32 milliseconds from the start, then int16 x, y, z in tenths (the scale ExifTool uses).
"""

from __future__ import annotations

import struct

from camtel.media import isobmff
from camtel.media.tracks import nmea
from camtel.media.tracks.model import GSensorSample, TrackPoint

CHILDREN = {"cprt", "sttm", "ptnm", "ptrh", "thum", "gps ", "3gf "}


def find(source: isobmff.Source, top: list[isobmff.Box]) -> dict[str, bytes] | None:
    """The Pittasoft boxes by type, or None when the file has none."""
    for box in top:
        if box.type != "free" or box.payload_size < 8:
            continue
        head = source.read(box.start, 8)
        if head[:2] != b"\0\0" or head[4:8].decode("latin-1") not in CHILDREN:
            continue
        found: dict[str, bytes] = {}
        for child in isobmff.iter_boxes(source, box.start, box.end):
            if child.type in CHILDREN:
                found[child.type] = source.read(child.start, child.payload_size)
        return found
    return None


def accelerometer(payload: bytes) -> list[GSensorSample]:
    samples = []
    for offset in range(0, len(payload) - 9, 10):
        timecode, x, y, z = struct.unpack_from(">Ihhh", payload, offset)
        if timecode == 0xFFFFFFFF:
            break
        samples.append(GSensorSample(timecode / 1000, x / 10, y / 10, z / 10))
    return samples


def parse(
    boxes: dict[str, bytes], *, gsensor: bool = True
) -> tuple[list[TrackPoint], list[GSensorSample], list[str]]:
    """The track, the accelerometer (unless `gsensor=False`) and warnings."""
    start_ms = None
    if len(boxes.get("sttm", b"")) >= 8:
        (start_ms,) = struct.unpack_from(">Q", boxes["sttm"])
    points, warnings = nmea.points(boxes.get("gps ", b"").rstrip(b"\0"), start_ms)
    samples = accelerometer(boxes.get("3gf ", b"")) if gsensor else []
    return points, samples, warnings
