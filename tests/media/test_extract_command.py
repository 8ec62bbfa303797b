"""`camtel extract` logic: several files joined in time order, three formats, exit codes."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import mp4_builder as build
import pytest
from rich.console import Console

from camtel.media.extract import EXIT_NO_TRACK, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, run_extract


def clip(folder: Path, name: str, start: datetime, count: int = 3) -> Path:
    fixes = [
        build.Fix(start + timedelta(seconds=i), 45.0 + i * 1e-4, 7.0, 30.0, 0.0)
        for i in range(count)
    ]
    path = folder / name
    path.write_bytes(build.novatek_mp4([build.classic_block(f) for f in fixes], indexed=True))
    return path


@pytest.fixture
def clips(tmp_path: Path) -> list[Path]:
    t0 = datetime(2024, 1, 2, 8, 0, tzinfo=UTC)
    # Given out of order: the later clip first.
    return [clip(tmp_path, "b.MP4", t0 + timedelta(minutes=1)), clip(tmp_path, "a.MP4", t0)]


def console() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=120), buffer


def test_gpx_joined_in_time_order(clips: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "track.gpx"
    screen, _ = console()
    assert run_extract(clips, "gpx", out, screen) == EXIT_OK
    ns = {"g": "http://www.topografix.com/GPX/1/1"}
    root = ET.parse(out).getroot()
    times = [t.text for t in root.iterfind(".//g:trkpt/g:time", ns)]
    assert len(times) == 6 and times == sorted(times)
    assert times[0] == "2024-01-02T08:00:00Z"


def test_geojson(clips: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "track.geojson"
    assert run_extract(clips, "geojson", out, console()[0]) == EXIT_OK
    data = json.loads(out.read_text())
    assert [f["properties"]["file"] for f in data["features"]] == ["a.MP4", "b.MP4"]
    line = data["features"][0]
    assert line["geometry"]["type"] == "LineString"
    assert line["geometry"]["coordinates"][0] == [7.0, 45.0]
    assert line["properties"]["offsets_s"] == [0.0, 1.0, 2.0]


def test_csv_to_stdout(clips: list[Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert run_extract(clips, "CSV", None, console()[0]) == EXIT_OK
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 6 and rows[0]["file"] == "a.MP4"
    assert float(rows[0]["speed_kmh"]) == pytest.approx(30.0, abs=0.01)


def test_file_without_track_is_named(clips: list[Path], tmp_path: Path) -> None:
    jpeg = tmp_path / "photo.mp4"
    jpeg.write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 64)
    screen, text = console()
    assert run_extract([*clips, jpeg], "gpx", tmp_path / "o.gpx", screen) == EXIT_PARTIAL
    assert "photo.mp4: no GPS track" in text.getvalue()
    assert "JPEG" in text.getvalue()
    assert run_extract([jpeg], "gpx", tmp_path / "none.gpx", screen) == EXIT_NO_TRACK
    assert not (tmp_path / "none.gpx").exists()


def test_usage_errors(clips: list[Path], tmp_path: Path) -> None:
    screen, _ = console()
    assert run_extract(clips, "kml", None, screen) == EXIT_USAGE
    assert run_extract([tmp_path / "missing.mp4"], "gpx", None, screen) == EXIT_USAGE
    assert run_extract(clips, "gpx", clips[0], screen) == EXIT_USAGE
    assert run_extract(clips, "gpx", tmp_path / "no" / "dir.gpx", screen) == EXIT_USAGE
