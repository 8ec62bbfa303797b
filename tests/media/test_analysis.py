"""Analysis decisions (the claimed kind) and the probe, thumbnail and track on real files."""

from __future__ import annotations

import pytest

from camtel.media.analysis import extract_track, kind_problem, probe_file
from helpers.media import KARMA, clip, jpeg


def test_kind_problem():
    assert kind_problem("video", "jpeg") == (
        "the file is a JPEG image, not a video (its name or type says video)"
    )
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
