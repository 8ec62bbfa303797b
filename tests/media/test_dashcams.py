"""Novatek, 70mai, BlackVue and NMEA tracks from files built to the documented layouts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import exiftool
import mp4_builder as build
import pytest

from camtel.media.tracks import extract, nmea

T0 = datetime(2023, 5, 1, 10, 0, 0, tzinfo=UTC)
FIXES = [
    build.Fix(
        T0 + timedelta(seconds=i), -33.8688 + i * 1e-4, 151.2093 + i * 2e-4, 40.0 + i, 10.0 * i
    )
    for i in range(6)
] + [build.Fix(T0 + timedelta(seconds=6), 48.8566, -2.3522, 30.0, 350.0)]
BLOCKS = {
    "classic": build.classic_block,
    "type1": build.type1_block,
    "type3": build.type3_block,
    "type15": build.type15_block,
}
# What the installed ExifTool (12.57) decodes: type 1 and 3 only through the index, type 15
# only by scanning (newer ExifTool releases read both ways).
EXIFTOOL_READS = {
    ("classic", True),
    ("classic", False),
    ("type1", True),
    ("type3", True),
    ("type15", False),
}


def assert_same(points, fixes, places: float = 1e-5) -> None:  # type: ignore[no-untyped-def]
    assert len(points) == len(fixes)
    for point, fix in zip(points, fixes, strict=True):
        assert point.latitude == pytest.approx(fix.latitude, abs=places)
        assert point.longitude == pytest.approx(fix.longitude, abs=places)
        assert point.time == fix.time


def compare_with_exiftool(path: Path, points) -> None:  # type: ignore[no-untyped-def]
    pairs = exiftool.run(path)
    lat = exiftool.series(pairs, "GPSLatitude")
    lon = exiftool.series(pairs, "GPSLongitude")
    times = exiftool.series(pairs, "GPSDateTime")
    assert len(lat) == len(points), pairs
    assert [p.latitude for p in points] == pytest.approx(lat, abs=1e-6)
    assert [p.longitude for p in points] == pytest.approx(lon, abs=1e-6)
    ours = [p.time.strftime("%Y:%m:%d %H:%M:%S") for p in points]
    assert [str(t)[:19] for t in times] == ours


@pytest.mark.parametrize("indexed", [True, False], ids=["gps-index", "scanned"])
@pytest.mark.parametrize("layout", sorted(BLOCKS))
def test_novatek_layouts(layout: str, indexed: bool, tmp_path: Path) -> None:
    path = tmp_path / f"{layout}.MP4"
    path.write_bytes(build.novatek_mp4([BLOCKS[layout](f) for f in FIXES], indexed))
    found = extract(path)
    assert found.source_format == "novatek-freegps" + ("" if indexed else "-scanned")
    assert found.warnings == []
    assert_same(found.points, FIXES, 1e-4 if layout == "type1" else 1e-5)
    assert [p.offset_s for p in found.points] == [float(i) for i in range(len(FIXES))]
    if layout != "type1":
        assert [p.speed_kmh for p in found.points] == pytest.approx([f.speed_kmh for f in FIXES])
    if layout != "classic":
        assert len(found.gsensor) == len(FIXES)
    if (layout, indexed) in EXIFTOOL_READS:
        compare_with_exiftool(path, found.points)


def test_novatek_void_and_encrypted_blocks_are_warnings(tmp_path: Path) -> None:
    void = bytearray(build.classic_block(FIXES[0]))
    void[0x48] = ord("V")
    ligo = bytearray(build.classic_block(FIXES[0]))
    ligo[16:28] = b"LIGOGPSINFO\0"
    path = tmp_path / "mixed.MP4"
    path.write_bytes(
        build.novatek_mp4([bytes(void), bytes(ligo), build.classic_block(FIXES[1])], indexed=True)
    )
    found = extract(path)
    assert len(found.points) == 1 and found.points[0].offset_s == 2.0
    assert any("encrypted" in w and "LigoGPS" in w for w in found.warnings)
    assert any("no valid fix" in w for w in found.warnings)


def test_seventymai(tmp_path: Path) -> None:
    path = tmp_path / "NO20230501-100000-000001F.MP4"
    path.write_bytes(build.seventymai_mp4(FIXES, T0))
    found = extract(path)
    assert found.source_format == "70mai"
    assert_same(found.points, FIXES, 1e-4)
    assert [p.speed_kmh for p in found.points] == pytest.approx([f.speed_kmh for f in FIXES])
    compare_with_exiftool(path, found.points)


def test_blackvue(tmp_path: Path) -> None:
    data, _start_ms = build.blackvue_mp4(FIXES)
    path = tmp_path / "20230501_100000_NF.mp4"
    path.write_bytes(data)
    found = extract(path)
    assert found.source_format == "blackvue"
    assert_same(found.points, FIXES)
    assert found.points[0].offset_s == pytest.approx(0.5)
    assert all(p.altitude_m == 120.5 and p.satellites == 9 for p in found.points)
    assert len(found.gsensor) == 20 and found.gsensor[1].offset_s == pytest.approx(0.1)
    assert (found.gsensor[0].x, found.gsensor[0].z) == (0.1, 1.0)
    compare_with_exiftool(path, found.points)
    accel = exiftool.series(exiftool.run(path), "Accelerometer")
    assert accel[0] == "0.1 -0.2 1"


def test_nmea_text_track(tmp_path: Path) -> None:
    samples = [build.tx3g_sample(build.rmc(f) + "\r\n") for f in FIXES]
    path = tmp_path / "subtitled.mp4"
    path.write_bytes(build.movie_with_samples(samples, "tx3g", "sbtl", 1000))
    found = extract(path)
    assert found.source_format == "nmea-text-track"
    assert_same(found.points, FIXES)
    assert [p.offset_s for p in found.points] == [float(i) for i in range(len(FIXES))]


def test_sidecar_next_to_a_video_without_track(tmp_path: Path) -> None:
    video = tmp_path / "clip.mp4"
    video.write_bytes(build.movie_with_samples([b"\0" * 32], "avc1", "vide", 1000))
    text = "".join(build.rmc(f) + "\r\n" + build.gga(f, 50.0) + "\r\n" for f in FIXES)
    (tmp_path / "clip.nmea").write_text(text)
    found = extract(video)
    assert found.source_format == "sidecar-nmea"
    assert_same(found.points, FIXES)
    assert all(p.altitude_m == 50.0 for p in found.points)


def test_nmea_checksums_are_verified() -> None:
    good = build.rmc(FIXES[0])
    bad = good[:-2] + ("00" if good[-2:] != "00" else "11")
    points, warnings = nmea.points(f"{good}\r\n{bad}\r\n".encode())
    assert len(points) == 1
    assert warnings == ["1 NMEA sentences with a bad checksum were skipped"]


def test_nmea_rmc_fields() -> None:
    line = b"$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A"
    points, warnings = nmea.points(line)
    assert warnings == []
    (p,) = points
    assert p.time == datetime(1994, 3, 23, 12, 35, 19, tzinfo=UTC)
    assert (round(p.latitude, 5), round(p.longitude, 5)) == (48.1173, 11.51667)
    assert p.speed_kmh == pytest.approx(22.4 * 1.852) and p.course == 84.4
