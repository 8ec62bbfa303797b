"""Position exports as GPX 1.1, GeoJSON, KML 2.2 and CSV, written one fix at a time. Pure.

Each format is a writer with `begin()`, `point(fix)` and `end()`, so a caller can feed it
from a database cursor (`stream`) or a list (`render`) without a month of positions in
memory. Choices:

- GPX: one `trk`/`trkseg`; `ele`, `time`, and speed (m/s) and course in Garmin's
  TrackPointExtension v2, which most GPX readers understand. Invalid fixes are left out.
- GeoJSON (RFC 7946): a FeatureCollection of one Point per fix, with `time`, `speed_kmh`,
  `course`, `altitude_m`, `valid` and `attributes` in its properties. A LineString with a
  `times` array would need the fixes twice; Points stream in one pass and keep every value.
- KML 2.2: a Placemark with a `gx:Track` (time-stamped, so Google Earth can replay it).
  The schema wants every `when` before every `gx:coord`, so coordinates are spooled to a
  temporary file (in memory while small) and written after the times. Invalid fixes are
  left out.
- CSV: a header, ISO 8601 times in UTC, attributes as JSON; text cells that a spreadsheet
  would run as a formula are prefixed with `'`.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from xml.sax.saxutils import escape

#: Bytes gathered before a chunk goes out: fewer, larger writes to the socket.
CHUNK_BYTES = 64 * 1024
#: KML coordinates stay in memory up to this size, then move to a temporary file.
SPOOL_BYTES = 1 << 20


class ExportFix(Protocol):
    """What an export reads of a position."""

    @property
    def time(self) -> datetime: ...
    @property
    def latitude(self) -> float: ...
    @property
    def longitude(self) -> float: ...
    @property
    def altitude(self) -> float | None: ...
    @property
    def speed_kmh(self) -> float | None: ...
    @property
    def course(self) -> float | None: ...
    @property
    def valid(self) -> bool: ...
    @property
    def attributes(self) -> Mapping[str, Any]: ...


class Writer(Protocol):
    """Writes one export: the opening, one piece per fix, and the closing."""

    def begin(self) -> str: ...
    def point(self, fix: ExportFix) -> str: ...
    def end(self) -> Iterator[str]: ...


def iso(time: datetime) -> str:
    """An ISO 8601 UTC time ending in Z (what GPX, KML and people expect)."""
    return time.astimezone(UTC).isoformat().replace("+00:00", "Z")


# Characters XML 1.0 does not allow at all, even escaped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: str) -> str:
    """Text safe inside an XML element or a quoted attribute."""
    return escape(_NOT_XML.sub("\ufffd", value), {'"': "&quot;", "'": "&apos;"})


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _placeable(fix: ExportFix) -> bool:
    """A valid fix with real coordinates (a map cannot draw the others)."""
    lat, lon = _finite(fix.latitude), _finite(fix.longitude)
    return bool(fix.valid) and lat is not None and lon is not None


def _num(value: float | None, digits: int) -> str:
    number = _finite(value)
    if number is None:
        return ""
    return f"{number:.{digits}f}".rstrip("0").rstrip(".") or "0"


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def to_json(value: Any) -> str:
    """Strict JSON: NaN and infinities (which SQLite's JSON lets in) become null."""
    try:
        return json.dumps(value, allow_nan=False, separators=(",", ":"), default=str)
    except ValueError:
        return json.dumps(_clean(value), allow_nan=False, separators=(",", ":"), default=str)


class Gpx:
    """GPX 1.1: one track, one segment, a trkpt per valid fix."""

    def __init__(self, name: str) -> None:
        self.name = xml_text(name)

    def begin(self) -> str:
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<gpx version="1.1" creator="camtel" xmlns="http://www.topografix.com/GPX/1/1"'
            ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
            ' xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v2"'
            ' xsi:schemaLocation="http://www.topografix.com/GPX/1/1'
            " http://www.topografix.com/GPX/1/1/gpx.xsd"
            " http://www.garmin.com/xmlschemas/TrackPointExtension/v2"
            ' https://www8.garmin.com/xmlschemas/TrackPointExtensionv2.xsd">\n'
            f"<metadata><name>{self.name}</name></metadata>\n"
            f"<trk><name>{self.name}</name><trkseg>\n"
        )

    def point(self, fix: ExportFix) -> str:
        if not _placeable(fix):
            return ""
        parts = [f'<trkpt lat="{fix.latitude:.7f}" lon="{fix.longitude:.7f}">']
        altitude = _finite(fix.altitude)
        if altitude is not None:
            parts.append(f"<ele>{altitude:.1f}</ele>")
        parts.append(f"<time>{iso(fix.time)}</time>")
        speed, course = _finite(fix.speed_kmh), _finite(fix.course)
        extension = ""
        if speed is not None and speed >= 0:
            extension += f"<gpxtpx:speed>{speed / 3.6:.2f}</gpxtpx:speed>"
        if course is not None and 0 <= course < 360:
            extension += f"<gpxtpx:course>{course:.1f}</gpxtpx:course>"
        if extension:
            parts.append(
                "<extensions><gpxtpx:TrackPointExtension>"
                f"{extension}</gpxtpx:TrackPointExtension></extensions>"
            )
        parts.append("</trkpt>\n")
        return "".join(parts)

    def end(self) -> Iterator[str]:
        yield "</trkseg></trk>\n</gpx>\n"


class GeoJson:
    """RFC 7946 FeatureCollection, one Point feature per fix."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.first = True

    def begin(self) -> str:
        return f'{{"type":"FeatureCollection","name":{to_json(self.name)},"features":[\n'

    def point(self, fix: ExportFix) -> str:
        lat, lon = _finite(fix.latitude), _finite(fix.longitude)
        if lat is None or lon is None:
            return ""
        altitude = _finite(fix.altitude)
        coordinates = [lon, lat] if altitude is None else [lon, lat, altitude]
        feature = {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": coordinates},
            "properties": {
                "time": iso(fix.time),
                "speed_kmh": _finite(fix.speed_kmh),
                "course": _finite(fix.course),
                "altitude_m": altitude,
                "valid": bool(fix.valid),
                "attributes": dict(fix.attributes or {}),
            },
        }
        text = ("" if self.first else ",\n") + to_json(feature)
        self.first = False
        return text

    def end(self) -> Iterator[str]:
        yield "\n]}\n"


class Kml:
    """KML 2.2 with a gx:Track: every `when`, then every `gx:coord` (spooled meanwhile)."""

    def __init__(self, name: str) -> None:
        self.name = xml_text(name)
        self.coords = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - closed in end()
            max_size=SPOOL_BYTES, mode="w+", encoding="utf-8"
        )

    def begin(self) -> str:
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<kml xmlns="http://www.opengis.net/kml/2.2"'
            ' xmlns:gx="http://www.google.com/kml/ext/2.2">\n'
            f"<Document><name>{self.name}</name>\n"
            f"<Placemark><name>{self.name}</name>\n<gx:Track>\n"
        )

    def point(self, fix: ExportFix) -> str:
        if not _placeable(fix):
            return ""
        altitude = _finite(fix.altitude) or 0.0
        self.coords.write(
            f"<gx:coord>{fix.longitude:.7f} {fix.latitude:.7f} {altitude:.1f}</gx:coord>\n"
        )
        return f"<when>{iso(fix.time)}</when>\n"

    def end(self) -> Iterator[str]:
        try:
            self.coords.seek(0)
            while chunk := self.coords.read(CHUNK_BYTES):
                yield chunk
        finally:
            self.coords.close()
        yield "</gx:Track>\n</Placemark>\n</Document>\n</kml>\n"


CSV_HEADER = (
    "device", "time", "latitude", "longitude", "altitude_m", "speed_kmh", "course", "valid",
    "attributes",
)  # fmt: skip


def csv_cell(value: str) -> str:
    """A text cell a spreadsheet will show, not run: formulas get a leading quote."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def csv_row(values: Iterable[Any]) -> str:
    """One CSV line (RFC 4180 quoting, CRLF)."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow(values)
    return buffer.getvalue()


class Csv:
    """CSV with a header; one row per fix (invalid ones too, marked)."""

    def __init__(self, name: str) -> None:
        self.name = csv_cell(name)
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer)

    def begin(self) -> str:
        return csv_row(CSV_HEADER)

    def point(self, fix: ExportFix) -> str:
        self.buffer.seek(0)
        self.buffer.truncate()
        self.writer.writerow(
            (
                self.name,
                iso(fix.time),
                _num(fix.latitude, 7),
                _num(fix.longitude, 7),
                _num(fix.altitude, 1),
                _num(fix.speed_kmh, 1),
                _num(fix.course, 1),
                "true" if fix.valid else "false",
                csv_cell(to_json(dict(fix.attributes or {}))),
            )
        )
        return self.buffer.getvalue()

    def end(self) -> Iterator[str]:
        return iter(())


@dataclass(frozen=True, slots=True)
class ExportFormat:
    """A format's name, HTTP media type, file extension and writer."""

    name: str
    media_type: str
    extension: str
    writer: Callable[[str], Writer]


FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat("gpx", "application/gpx+xml", "gpx", Gpx),
        ExportFormat("geojson", "application/geo+json", "geojson", GeoJson),
        ExportFormat("kml", "application/vnd.google-earth.kml+xml", "kml", Kml),
        ExportFormat("csv", "text/csv; charset=utf-8", "csv", Csv),
    )
}


def render(writer: Writer, fixes: Iterable[ExportFix]) -> Iterator[str]:
    """The export of fixes (oldest first) as pieces of text."""
    yield writer.begin()
    for fix in fixes:
        yield writer.point(fix)
    yield from writer.end()


async def stream(writer: Writer, fixes: AsyncIterable[ExportFix]) -> AsyncIterator[bytes]:
    """The export of fixes from an async source, as UTF-8 chunks of about CHUNK_BYTES."""
    pieces = [writer.begin()]
    size = len(pieces[0])
    async for fix in fixes:
        piece = writer.point(fix)
        pieces.append(piece)
        size += len(piece)
        if size >= CHUNK_BYTES:
            yield "".join(pieces).encode()
            pieces, size = [], 0
    pieces.extend(writer.end())
    yield "".join(pieces).encode()
