"""Analysis decisions (peaks, sniffing) and the probe, thumbnail and track on real files."""

from __future__ import annotations

import math

import pytest

from camtel.media.analysis import extract_track, find_peaks, kind_problem, probe_file, sniff
from media_helpers import KARMA, clip, jpeg


def _series(seconds: float, rate: int, bumps: dict[float, float]) -> list[tuple]:
    """Gravity on z, a little noise, and short bumps (time → extra g on x)."""
    out = []
    for i in range(int(seconds * rate)):
        t = i / rate
        x = sum(g for at, g in bumps.items() if abs(t - at) < 0.15)
        out.append((t, x + 0.02 * math.sin(i * 1.7), 0.01, 1.0))
    return out


def test_quiet_driving_has_no_peaks():
    assert find_peaks(_series(30, 50, {})) == []


def test_a_bump_and_a_crash():
    peaks = find_peaks(_series(60, 50, {10.0: 0.8, 40.0: 3.5}))
    assert [p.type for p in peaks] == ["harsh_event", "collision"]
    assert abs(peaks[0].offset_s - 10.0) < 0.2 and abs(peaks[1].offset_s - 40.0) < 0.2
    assert peaks[1].g > 2.0


def test_vibration_spikes_are_not_events():
    # One-sample spikes of 2 g at 200 Hz (a rattle) vanish in the 0.1 s smoothing.
    samples = [(i / 200, 2.0 if i % 97 == 0 else 0.0, 0.0, 1.0) for i in range(200 * 20)]
    assert find_peaks(samples) == []


def test_sniff_and_kind():
    assert sniff(b"\xff\xd8\xff\xe0") == "jpeg"
    assert sniff(b"\x00\x00\x00\x18ftypmp42") == "mp4"
    assert sniff(b"garbage") == "unknown"
    assert kind_problem("video", "jpeg")
    assert kind_problem("video", "mp4") is None and kind_problem("photo", "jpeg") is None


def test_probe_a_clip_and_a_photo(tmp_path):
    video, photo = tmp_path / "c.mp4", tmp_path / "p.jpg"
    video.write_bytes(clip(1.0))
    photo.write_bytes(jpeg())
    found = probe_file(str(video), "video")
    assert found.failure is None and found.kind == "video"
    assert found.duration_s == pytest.approx(1.0, abs=0.15)
    assert found.probe["width"] == 96 and found.probe["video_codec"] == "mpeg4"
    assert found.thumbnail and found.thumbnail.startswith(b"\xff\xd8")
    image = probe_file(str(photo), "photo")
    assert image.failure is None and image.kind == "photo" and image.thumbnail


def test_bad_files_fail_with_a_reason(tmp_path, testdata):
    renamed = tmp_path / "photo.mp4"
    renamed.write_bytes(jpeg())
    assert "JPEG" in probe_file(str(renamed), "video").failure
    truncated = tmp_path / "cut.mp4"
    truncated.write_bytes((testdata / "fixtures" / KARMA).read_bytes()[:100_000])
    assert "not a readable video" in probe_file(str(truncated), "video").failure
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    assert probe_file(str(empty), "video").failure


def test_the_gopro_track(testdata):
    found = extract_track(str(testdata / "fixtures" / KARMA))
    assert found.source_format and found.source_format.startswith("gopro-gpmf")
    assert len(found.points) > 10
    offset, time, lat, lon, *_ = found.points[0]
    assert offset == 0.0 and time.startswith("2017-04-17") and 33 < lat < 34 and -118 < lon < -117
    assert found.gsensor
