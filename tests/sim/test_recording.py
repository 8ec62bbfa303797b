"""The simulated dash cam recording: browser-playable H.264 with its Novatek GPS track, which
camtel's own extractor reads back exactly, one fix a second, with the hard stop in the G-sensor."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import av
import pytest

from camtel.media.analysis import find_peaks
from camtel.media.extract import extract
from camtel.sim.recording import dashcam_recording, demo_drive_points, hard_brake

START = datetime(2026, 5, 4, 7, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    points = hard_brake(demo_drive_points(3, START, 12), 8)
    path = tmp_path_factory.mktemp("rec") / "drive.mp4"
    path.write_bytes(dashcam_recording(points, fps=5, size=(160, 96)))
    return path, points


def test_the_video_is_h264_of_the_drive_length(recording) -> None:  # type: ignore[no-untyped-def]
    path, points = recording
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert (stream.width, stream.height) == (160, 96)
        assert float(stream.duration * stream.time_base) == pytest.approx(len(points), abs=0.3)
        assert sum(1 for _ in container.decode(stream)) == len(points) * 5


def test_the_track_reads_back_one_fix_a_second(recording) -> None:  # type: ignore[no-untyped-def]
    path, points = recording
    found = extract(path)
    assert found.source_format == "novatek-freegps"
    assert [p.offset_s for p in found.points] == [float(n) for n in range(len(points))]
    for got, sent in zip(found.points, points, strict=True):
        assert got.time == sent.time
        # The layout stores DDMM.MMMM as 32-bit floats: about 2 m, as on a real camera.
        assert got.latitude == pytest.approx(sent.latitude, abs=3e-5)
        assert got.longitude == pytest.approx(sent.longitude, abs=3e-5)
        assert got.speed_kmh == pytest.approx(sent.speed_kmh, abs=0.01)


def test_the_hard_stop_is_a_gsensor_peak_where_it_happened(recording) -> None:  # type: ignore[no-untyped-def]
    path, _points = recording
    found = extract(path)
    peaks = find_peaks([(s.offset_s, s.x, s.y, s.z) for s in found.gsensor])
    assert len(peaks) == 1 and 7.0 <= peaks[0].offset_s <= 9.0, peaks


def test_no_points_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one point"):
        dashcam_recording([])
