"""GoPro GPMF from real recordings: Karma's GPRI, HERO11's GPS9 and GPS5, ACCL."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path

import exiftool
import mp4_builder
import pytest

from camtel.media.tracks import TrackPoint, extract, gpmf
from camtel.messages import Position
from camtel.protocols.base import position_problem


def sane(points: list[TrackPoint]) -> None:
    """The shared position sanity check on every timed point."""
    now = datetime.now(UTC)
    for p in points:
        assert p.time is not None
        position = Position(
            "test",
            "file",
            p.time,
            p.latitude,
            p.longitude,
            speed_kmh=p.speed_kmh,
            course=p.course,
            altitude=p.altitude_m,
        )
        assert position_problem(position, now) is None, p


@pytest.fixture
def karma(testdata: Path) -> Path:
    return testdata / "fixtures" / "gopro_karma.mp4"


@pytest.fixture
def hero11(testdata: Path) -> Path:
    return testdata / "fixtures" / "gopro_hero11_gpmf.raw"


def test_karma_track(karma: Path) -> None:
    found = extract(karma)
    assert found.source_format == "gopro-gpmf-gpri"
    assert found.warnings == []
    assert len(found.points) == 47
    sane(found.points)
    first, last = found.points[0], found.points[-1]
    assert first.latitude == pytest.approx(33.125368, abs=1e-6)
    assert first.longitude == pytest.approx(-117.3310641, abs=1e-6)
    assert first.time is not None and first.time.date().isoformat() == "2017-04-17"
    assert 0 <= first.offset_s < last.offset_s <= 13.1
    assert all(0 <= p.speed_kmh < 80 for p in found.points if p.speed_kmh is not None)
    assert len(found.gsensor) == 2397
    # The camera hangs still under the drone: about 1 g overall.
    mean = sum((s.x**2 + s.y**2 + s.z**2) ** 0.5 for s in found.gsensor) / len(found.gsensor)
    assert 0.8 < mean < 1.3


def test_karma_matches_exiftool(karma: Path) -> None:
    pairs = exiftool.run(karma)
    found = extract(karma)
    lat = exiftool.series(pairs, "GPSLatitudeRaw")
    lon = exiftool.series(pairs, "GPSLongitudeRaw")
    assert len(lat) == len(found.points) == 47
    assert [round(p.latitude, 7) for p in found.points] == pytest.approx(lat, abs=1e-7)
    assert [round(p.longitude, 7) for p in found.points] == pytest.approx(lon, abs=1e-7)


def test_hero11_raw_has_gps9_and_gps5(hero11: Path) -> None:
    telemetry = gpmf.parse_raw(hero11.read_bytes())
    assert len(telemetry.streams["GPS9"]) == 110
    assert len(telemetry.streams["GPS5"]) == 110
    for key in ("GPS9", "GPS5"):
        points = telemetry.streams[key]
        sane(points)
        assert all(42.42 < p.latitude < 42.43 and -8.66 < p.longitude < -8.64 for p in points)
        assert all(p.time is not None and p.time.date().isoformat() == "2022-09-20" for p in points)
        assert all(0 <= p.speed_kmh < 20 for p in points if p.speed_kmh is not None)
    nine = telemetry.streams["GPS9"]
    assert all(a.time < b.time for a, b in itertools.pairwise(nine))  # type: ignore[operator]
    assert all(p.fix == 3 and p.dop is not None and p.dop < 5 for p in nine)
    assert len(telemetry.gsensor) == 2192


def test_hero11_extract_prefers_gps9(hero11: Path) -> None:
    found = extract(hero11)
    assert found.source_format == "gopro-gpmf-raw-gps9"
    assert len(found.points) == 110
    assert found.points[-1].offset_s == pytest.approx(11.27, abs=0.05)


def test_hero11_in_an_mp4_matches_exiftool(hero11: Path, tmp_path: Path) -> None:
    """The HERO11 payloads as a 'gpmd' track: camtel's GPS5 against ExifTool's."""
    data = hero11.read_bytes()
    samples, offset = [], 0
    for entry in gpmf.entries(data):
        length = 8 + ((entry.size * entry.repeat + 3) & ~3)
        samples.append(data[offset : offset + length])
        offset += length
    movie = tmp_path / "hero11.mp4"
    movie.write_bytes(mp4_builder.movie_with_samples(samples, "gpmd", "meta", 1001))
    found = extract(movie)
    assert found.source_format == "gopro-gpmf-gps9"
    telemetry = gpmf.parse_payloads(
        (movie.read_bytes()[s.offset : s.offset + s.size], s.time_s, s.duration_s)
        for s in _samples(movie)
    )
    pairs = exiftool.run(movie)
    lat = exiftool.series(pairs, "GPSLatitude")
    lon = exiftool.series(pairs, "GPSLongitude")
    five = telemetry.streams["GPS5"]
    assert len(lat) == len(five) == 110
    assert [p.latitude for p in five] == pytest.approx(lat, abs=1e-7)
    assert [p.longitude for p in five] == pytest.approx(lon, abs=1e-7)


def _samples(path: Path):  # type: ignore[no-untyped-def]
    from camtel.media import isobmff

    with isobmff.Source(path) as source:
        track = gpmf.find_track(isobmff.read_movie(source))
        assert track is not None
        return track.samples
