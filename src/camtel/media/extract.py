"""`camtel extract`: tracks of several recordings joined in time order, as GPX, GeoJSON or CSV.

Works offline: no account, server or database. Exit codes: 0 every file had a track,
1 no file had one, 2 a usage problem (unknown format, unreadable input, unwritable output),
3 some files had a track and the output holds those.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, cast

from camtel.media.tracks import Extraction, TrackPoint, extract

if TYPE_CHECKING:  # Rich is imported only where needed, so `camtel extract` starts fast
    from typing import Protocol

    from rich.console import Console

    class Screen(Protocol):
        """Where per-file reports go: a Rich console, or the plain one of `camtel.entry`."""

        @property
        def is_terminal(self) -> bool: ...

        def print(self, text: str, *, highlight: bool | None = None) -> None: ...


FORMATS = ("gpx", "geojson", "csv")
EXIT_OK, EXIT_NO_TRACK, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3
PROGRESS_FILES = 2
PROGRESS_BYTES = 200 * 1024 * 1024


@dataclass(slots=True)
class Recording:
    """One input file and what was found in it."""

    path: Path
    extraction: Extraction

    @property
    def start(self) -> datetime | None:
        return next((p.time for p in self.extraction.points if p.time is not None), None)


def join_in_time_order(recordings: list[Recording]) -> list[Recording]:
    """Recordings with a track, earliest first; untimed ones keep their order at the end."""
    timed = [r for r in recordings if r.extraction.points and r.start is not None]
    untimed = [r for r in recordings if r.extraction.points and r.start is None]
    return sorted(timed, key=lambda r: cast(datetime, r.start)) + untimed  # start is not None


def _iso(when: datetime | None) -> str:
    return when.isoformat().replace("+00:00", "Z") if when else ""


def _num(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _xml_text(text: str) -> str:
    """What xml.sax.saxutils.escape does, without the urllib.request it imports."""
    return text.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")


def _markup(text: str) -> str:
    """Text safe inside Rich markup; Rich is loaded only for text that needs escaping."""
    if "[" not in text and not text.endswith("\\"):
        return text  # rich.markup.escape returns these unchanged
    from rich.markup import escape

    return escape(text)


def to_gpx(recordings: list[Recording]) -> str:
    """GPX 1.1: one track, one segment per recording."""
    out = io.StringIO()
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(
        '<gpx version="1.1" creator="camtel extract" '
        'xmlns="http://www.topografix.com/GPX/1/1">\n<trk><name>camtel extract</name>\n'
    )
    for recording in recordings:
        out.write(f"<trkseg><!-- {_xml_text(recording.path.name).replace('--', '- -')} -->\n")
        for p in recording.extraction.points:
            out.write(f'<trkpt lat="{p.latitude:.7f}" lon="{p.longitude:.7f}">')
            if p.altitude_m is not None:
                out.write(f"<ele>{p.altitude_m:.2f}</ele>")
            if p.time is not None:
                out.write(f"<time>{_iso(p.time)}</time>")
            if p.fix in (2, 3):
                out.write(f"<fix>{p.fix}d</fix>")
            if p.satellites is not None:
                out.write(f"<sat>{p.satellites}</sat>")
            if p.dop is not None:
                out.write(f"<hdop>{p.dop:.2f}</hdop>")
            out.write("</trkpt>\n")
        out.write("</trkseg>\n")
    out.write("</trk>\n</gpx>\n")
    return out.getvalue()


def _point_properties(points: list[TrackPoint]) -> dict[str, list]:
    return {
        "times": [_iso(p.time) or None for p in points],
        "offsets_s": [round(p.offset_s, 3) for p in points],
        "speeds_kmh": [None if p.speed_kmh is None else round(p.speed_kmh, 2) for p in points],
    }


def to_geojson(recordings: list[Recording]) -> str:
    """A FeatureCollection: one LineString per recording, per-point times and offsets."""
    features = []
    for recording in recordings:
        points = recording.extraction.points
        coordinates = [
            [round(p.longitude, 7), round(p.latitude, 7)]
            + ([round(p.altitude_m, 2)] if p.altitude_m is not None else [])
            for p in points
        ]
        if any(len(c) == 2 for c in coordinates):
            coordinates = [c[:2] for c in coordinates]
        geometry = (
            {"type": "LineString", "coordinates": coordinates}
            if len(coordinates) > 1
            else {"type": "Point", "coordinates": coordinates[0]}
        )
        features.append(
            {
                "type": "Feature",
                "geometry": geometry,
                "properties": {
                    "file": recording.path.name,
                    "source_format": recording.extraction.source_format,
                    **_point_properties(points),
                },
            }
        )
    return json.dumps({"type": "FeatureCollection", "features": features}) + "\n"


CSV_COLUMNS = (
    "file",
    "offset_s",
    "time",
    "latitude",
    "longitude",
    "altitude_m",
    "speed_kmh",
    "course",
    "fix",
    "satellites",
    "dop",
)


def to_csv(recordings: list[Recording]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for recording in recordings:
        for p in recording.extraction.points:
            writer.writerow(
                [
                    recording.path.name,
                    _num(p.offset_s, 3),
                    _iso(p.time),
                    f"{p.latitude:.7f}",
                    f"{p.longitude:.7f}",
                    _num(p.altitude_m, 2),
                    _num(p.speed_kmh, 2),
                    _num(p.course, 2),
                    p.fix if p.fix is not None else "",
                    p.satellites if p.satellites is not None else "",
                    _num(p.dop, 2),
                ]
            )
    return out.getvalue()


WRITERS = {"gpx": to_gpx, "geojson": to_geojson, "csv": to_csv}


def _write(text: str, out: Path) -> None:
    """Write through a temporary file in the same folder, so a failure leaves no half file."""
    import tempfile  # only with -o; it pulls in shutil, random and the compression modules

    fd, temporary = tempfile.mkstemp(prefix=".camtel-extract-", dir=out.parent or Path("."))
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _extract_all(files: list[Path], console: Screen) -> list[Recording]:
    sizes = [f.stat().st_size if f.is_file() else 0 for f in files]
    small = len(files) < PROGRESS_FILES and sum(sizes) < PROGRESS_BYTES
    if small or not console.is_terminal:  # a bar only for a person watching a long batch
        return [Recording(f, extract(f, gsensor=False)) for f in files]
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    recordings = []
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} files"),
        TimeRemainingColumn(),
    )
    rich_console = cast("Console", console)  # a terminal: Rich's console, not the plain one
    with Progress(*columns, console=rich_console, transient=True) as progress:
        task = progress.add_task("extracting", total=len(files))
        for path in files:
            progress.update(task, description=path.name[:40])
            recordings.append(Recording(path, extract(path, gsensor=False)))
            progress.advance(task)
    return recordings


def run_extract(files: list[Path], fmt: str, out: Path | None, console: Screen) -> int:
    """Extract, report per file on `console`, write the joined track to `out` or stdout.

    This is the whole `camtel extract` command, shared by `camtel.cli` and `camtel.entry`.
    """
    try:
        return _run(files, fmt, out, console)
    except BrokenPipeError:  # `camtel extract clip.mp4 | head`: the reader left, that is fine
        return EXIT_OK


def _run(files: list[Path], fmt: str, out: Path | None, console: Screen) -> int:
    fmt = fmt.lower()
    if fmt not in WRITERS:
        console.print(f"[red]unknown format {fmt!r}[/]: choose one of {', '.join(FORMATS)}")
        return EXIT_USAGE
    missing = [f for f in files if not f.is_file()]
    if not files or missing:
        named = ", ".join(str(f) for f in missing) or "no file given"
        console.print(f"[red]cannot read[/] {named}")
        return EXIT_USAGE
    if out is not None and any(out.resolve() == f.resolve() for f in files):
        console.print(f"[red]refusing to overwrite an input file[/] {out}")
        return EXIT_USAGE
    recordings = _extract_all(files, console)
    for recording in recordings:
        found = recording.extraction
        name = _markup(recording.path.name)
        if found.points:
            console.print(
                f"{name}: {len(found.points)} points ({found.source_format})", highlight=False
            )
        else:
            reason = found.warnings[-1] if found.warnings else "no embedded GPS track found"
            console.print(f"[yellow]{name}: no GPS track[/] ({_markup(reason)})", highlight=False)
        for warning in found.warnings if found.points else found.warnings[:-1]:
            console.print(f"  [dim]{_markup(warning)}[/]", highlight=False)
    joined = join_in_time_order(recordings)
    if not joined:
        return EXIT_NO_TRACK
    text = WRITERS[fmt](joined)
    if out is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        try:
            _write(text, out)
        except OSError as exc:
            console.print(f"[red]cannot write[/] {out}: {exc.strerror or exc}")
            return EXIT_USAGE
        console.print(f"wrote {sum(len(r.extraction.points) for r in joined)} points to {out}")
    return EXIT_OK if len(joined) == len(recordings) else EXIT_PARTIAL


__all__ = ["FORMATS", "run_extract", "to_csv", "to_geojson", "to_gpx"]
