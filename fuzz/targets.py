"""What each fuzzer checks: one function per parser, taking arbitrary bytes and raising only
when the parser did something it must never do.

A parser may refuse bytes (its own "malformed" answer is the point); it must never raise
anything else, never produce a fix with a non-finite number or a time without a zone, and
never hold more than its bound. Each target calls the parser *below* its last-guard
`except Exception` (which turns any bug into a polite rejection on a live gateway), so that a
bug shows here as the exception it is.

Used by `fuzz/run.py` (atheris, `make fuzz`) and by `tests/test_fuzz.py` (every input that
once crashed a target, replayed; a short atheris run of each target in CI).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from camtel.media import isobmff
from camtel.media.tracks import extract_source
from camtel.messages import Position
from camtel.protocols import jt808, osmand, teltonika

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


class Finding(AssertionError):
    """A parser broke one of its promises on these bytes."""


def _check_positions(messages: Iterable[object]) -> None:
    for message in messages:
        if not isinstance(message, Position):
            continue
        numbers = (message.latitude, message.longitude, message.speed_kmh, message.course,
                   message.altitude, message.accuracy_m)
        if any(n is not None and not math.isfinite(n) for n in numbers):
            raise Finding(f"a fix with a non-finite number: {numbers}")
        if message.time.tzinfo is None:
            raise Finding("a fix whose time has no zone")


def fuzz_jt808(data: bytes) -> None:
    """The TCP stream cut into frames, each checked and decoded on one session."""
    splitter = jt808.FrameSplitter(max_buffer=4096)
    session = jt808.Session()
    for frame in splitter.feed(data):
        checked = jt808.check(frame)
        decoded = jt808._decode(frame, session, NOW, checked)  # no last guard: bugs raise
        _check_positions(decoded.messages)
    if len(splitter._buffer) > splitter.max_buffer:
        raise Finding("the splitter holds more than its bound")


def fuzz_teltonika(data: bytes) -> None:
    """The TCP stream cut into frames (handshake, then AVL packets), each decoded."""
    splitter = teltonika.FrameSplitter(max_buffer=4096)
    session = teltonika.Session()
    for frame in splitter.feed(data):
        try:
            decoded = teltonika._decode(frame, session, NOW)
        except teltonika._Malformed:
            continue  # refused, as it should be
        _check_positions(decoded.messages)
    if splitter.buffered > splitter.max_buffer:
        raise Finding("the splitter holds more than its bound")


def fuzz_osmand(data: bytes) -> None:
    """One HTTP request: the first byte picks GET with a query or POST with a JSON body."""
    if not data:
        return
    text = data[1:].decode("utf-8", "replace")
    try:
        if data[0] % 2:
            positions = osmand._decode("GET", "/?" + text, b"", "", NOW)
        else:
            positions = osmand._decode("POST", "/", data[1:], "application/json", NOW)
    except osmand._Refused:
        return
    _check_positions(positions)


def fuzz_mp4_boxes(data: bytes) -> None:
    """The ISO BMFF box tree of a file; only `BoxError` may come out of a damaged one."""
    source = isobmff.Source(data)
    try:
        for _ in isobmff.iter_tree(source):
            pass
        isobmff.read_movie(source)  # every track's sample table
    except isobmff.BoxError:
        return


def fuzz_gps_tracks(data: bytes) -> None:
    """Track extraction from a whole file (GoPro GPMF, 70mai, Novatek, BlackVue, NMEA):
    a parser bug reaches its catch-all and says "could not read the file"."""
    extraction = extract_source(data)
    for warning in extraction.warnings:
        if warning.startswith("could not read the file:"):
            raise Finding(warning)
    for point in extraction.points:
        if not all(math.isfinite(v) for v in (point.latitude, point.longitude)):
            raise Finding(f"a track point with a non-finite coordinate: {point}")


TARGETS: dict[str, Callable[[bytes], None]] = {
    "jt808": fuzz_jt808,
    "teltonika": fuzz_teltonika,
    "osmand": fuzz_osmand,
    "mp4_boxes": fuzz_mp4_boxes,
    "gps_tracks": fuzz_gps_tracks,
}
