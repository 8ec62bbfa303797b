"""The GPS track and G-sensor data hidden in dash cam and action cam recordings.

`extract(path)` detects the format and never raises for a bad file: problems become
warnings on an empty `Extraction`. The file is only ever opened read-only. A caller that
needs only the GPS track passes `gsensor=False`: the same points and warnings, no G-sensor.
"""

from __future__ import annotations

import logging
from pathlib import Path

from camtel.media import isobmff
from camtel.media.sniff import HEAD_BYTES, describe, is_isobmff
from camtel.media.tracks import blackvue, gpmf, nmea, novatek, seventymai
from camtel.media.tracks.model import Extraction, GSensorSample, TrackPoint

__all__ = ["Extraction", "GSensorSample", "TrackPoint", "extract", "extract_source"]

log = logging.getLogger(__name__)
SIDECAR_SUFFIXES = (".nmea", ".gps", ".NMEA", ".GPS")
_TEXT_FORMATS = {"tx3g", "text", "c608"}
MAX_NMEA_BYTES = 256 * 1024 * 1024
MAX_RAW_GPMF_BYTES = 256 * 1024 * 1024


def _is_text_track(track: isobmff.Track) -> bool:
    return track.format in _TEXT_FORMATS or track.handler in {"text", "sbtl"}


def _holds_telemetry(track: isobmff.Track) -> bool:
    """The tracks whose samples `_from_movie` reads; video and audio tables are not listed."""
    return gpmf.is_track(track) or _is_text_track(track)


def _from_text_track(source: isobmff.Source, track: isobmff.Track) -> Extraction:
    """NMEA sentences carried as subtitle samples, each placed at its sample time."""
    result = Extraction()
    for sample in track.samples:
        data = source.read(sample.offset, sample.size)
        points, warnings = nmea.points(data)
        result.warnings.extend(warnings)
        result.points.extend(
            TrackPoint(
                sample.time_s + p.offset_s,
                p.time,
                p.latitude,
                p.longitude,
                p.altitude_m,
                p.speed_kmh,
                p.course,
                p.fix,
                p.satellites,
                p.dop,
            )
            for p in points
        )
    if result.points:
        result.source_format = "nmea-text-track"
    return result


def _from_movie(source: isobmff.Source, gsensor: bool) -> Extraction:
    movie = isobmff.read_movie(source, resolve=_holds_telemetry)
    warnings = list(movie.warnings)

    track = gpmf.find_track(movie)
    if track is not None:
        telemetry = gpmf.parse_track(source, track, gsensor=gsensor)
        key, points = telemetry.best()
        return Extraction(
            points,
            telemetry.gsensor,
            f"gopro-gpmf-{(key or 'none').lower()}",
            warnings + telemetry.warnings,
        )

    pittasoft = blackvue.find(source, movie.top)
    if pittasoft is not None:
        points, samples, problems = blackvue.parse(pittasoft, gsensor=gsensor)
        return Extraction(points, samples, "blackvue", warnings + problems)

    box = isobmff.first(movie.top, "GPS ")
    if box is not None:
        points, problems = seventymai.parse(
            source.read(box.start, box.payload_size), movie.creation_unix
        )
        return Extraction(points, [], "70mai", warnings + problems)

    decoded, had_blocks = novatek.read(source, movie)
    if had_blocks:
        points, samples, problems = novatek.to_track(decoded)
        indexed = isobmff.first(movie.moov_children, "gps ") is not None
        kinds = "novatek-freegps" + ("" if indexed else "-scanned")
        return Extraction(points, samples if gsensor else [], kinds, warnings + problems)

    for candidate in movie.tracks:
        if _is_text_track(candidate):
            found = _from_text_track(source, candidate)
            if found.points:
                found.warnings[:0] = warnings
                return found
    return Extraction(warnings=[*warnings, "no embedded GPS track found"])


def extract_source(data: bytes | isobmff.Source, *, gsensor: bool = True) -> Extraction:
    """Extract from bytes or an open source (no sidecar lookup)."""
    source = data if isinstance(data, isobmff.Source) else isobmff.Source(data)
    try:
        head = source.read(0, min(source.size, HEAD_BYTES))
        if not head:
            return Extraction(warnings=["the file is empty"])
        if head.startswith(b"DEVC"):
            raw = source.read(0, min(source.size, MAX_RAW_GPMF_BYTES))
            telemetry = gpmf.parse_raw(raw, gsensor=gsensor)
            key, points = telemetry.best()
            fmt = f"gopro-gpmf-raw-{key.lower()}" if key else None
            return Extraction(points, telemetry.gsensor, fmt, telemetry.warnings)
        if is_isobmff(head):
            return _from_movie(source, gsensor)
        if b"$GP" in head or b"$GN" in head or b"$GL" in head:
            points, warnings = nmea.points(source.read(0, min(source.size, MAX_NMEA_BYTES)))
            return Extraction(
                points,
                [],
                "nmea" if points else None,
                warnings or ([] if points else ["no valid NMEA fix found"]),
            )
        return Extraction(warnings=[f"cannot read a track: this is {describe(head)}"])
    except isobmff.BoxError as exc:
        return Extraction(warnings=[f"damaged or truncated file: {exc}"])
    except Exception as exc:  # a parser bug must not take the batch or the worker down
        log.exception("track extraction failed", extra={"error": type(exc).__name__})
        return Extraction(warnings=[f"could not read the file: {type(exc).__name__}: {exc}"])


def _sidecar(path: Path) -> Path | None:
    for suffix in SIDECAR_SUFFIXES:
        candidate = path.with_suffix(suffix)
        if candidate != path and candidate.is_file():
            return candidate
    return None


def extract(path: Path | str, *, gsensor: bool = True) -> Extraction:
    """The track of one recording; falls back to a `.nmea`/`.gps` file beside it.

    `gsensor=False` leaves the accelerometer undecoded and `Extraction.gsensor` empty.
    """
    path = Path(path)
    try:
        source = isobmff.Source(path)
    except OSError as exc:
        return Extraction(warnings=[f"cannot open {path.name}: {exc.strerror or exc}"])
    with source:
        result = extract_source(source, gsensor=gsensor)
    if not result.points and path.suffix not in SIDECAR_SUFFIXES:
        sidecar = _sidecar(path)
        if sidecar is not None:
            found = extract(sidecar, gsensor=gsensor)
            if found.points:
                found.source_format = f"sidecar-{found.source_format}"
                found.warnings[:0] = result.warnings
                return found
    return result
