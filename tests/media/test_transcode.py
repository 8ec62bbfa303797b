"""Browser-playable copies: which recordings need one (pure), and the copy itself on real files
(MPEG-4 Part 2 with AAC, MJPEG with unnamed PCM in AVI, HEVC, a cut file)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from camtel.media.analysis import probe_file
from camtel.media.transcode import (
    TranscodeError,
    browser_playable,
    needs_copy,
    sound_layout,
    transcode_file,
)
from helpers.media import KARMA, clip, clip_with_sound

MP4 = "mov,mp4,m4a,3gp,3g2,mj2"


def _probe(**fields: object) -> dict[str, object]:
    return {"container": MP4, "video_codec": "h264", "pix_fmt": "yuv420p", **fields}


def test_what_browsers_play() -> None:
    assert browser_playable(_probe())
    assert browser_playable(_probe(audio_codec="aac"))
    assert browser_playable(_probe(video_codec="av1", pix_fmt="yuv420p10le"))
    webm = "matroska,webm"
    assert browser_playable(_probe(container=webm, video_codec="vp9", audio_codec="opus"))
    assert browser_playable(_probe(pix_fmt=None))  # older probes did not record it

    assert not browser_playable(_probe(video_codec="mpeg4"))  # MPEG-4 Part 2
    assert not browser_playable(_probe(video_codec="hevc"))  # not in Chromium
    assert not browser_playable(_probe(pix_fmt="yuv422p"))  # H.264 4:2:2
    assert not browser_playable(_probe(pix_fmt="yuv420p10le"))  # High 10
    assert not browser_playable(_probe(container="avi"))
    assert not browser_playable(_probe(container="mpegts"))
    assert not browser_playable(_probe(container="matroska,webm"))  # H.264 in Matroska
    assert not browser_playable(_probe(audio_codec="adpcm_ima_qt"))
    assert not browser_playable({})

    assert needs_copy("video", _probe(video_codec="mpeg4"))
    assert not needs_copy("video", _probe())
    assert not needs_copy("photo", {"container": "image2", "video_codec": "mjpeg"})


def test_sound_layouts() -> None:
    assert sound_layout("stereo", 2) == "stereo"
    assert sound_layout("1 channels", 1) == "mono"
    assert sound_layout("", 2) == "stereo"


def _streams(path: Path) -> list[tuple[str, str]]:
    with av.open(str(path)) as container:
        return [(s.type, s.codec_context.name) for s in container.streams]


def test_mpeg4_part2_becomes_h264_with_its_sound(tmp_path: Path) -> None:
    src = tmp_path / "in.mp4"
    src.write_bytes(clip_with_sound(seconds=2.0, size=(320, 240)))
    assert needs_copy("video", probe_file(str(src), "video").probe)
    out = tmp_path / "out.mp4"
    seen: list[float] = []
    report = transcode_file(src, out, "video", progress=seen.append)
    assert (report.frames, report.width, report.height, report.sound) == (20, 320, 240, True)
    assert seen[-1] == 1.0
    assert _streams(out) == [("video", "h264"), ("audio", "aac")]
    data = out.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat"), "fast start: the index comes first"
    assert b"loci" not in data and b"Lavf" not in data
    probe = probe_file(str(out), "video")
    assert browser_playable(probe.probe), probe.probe
    assert probe.duration_s == pytest.approx(2.0, abs=0.15)
    assert not list(tmp_path.glob(".*.part"))


def _avi_with_unnamed_pcm(path: Path) -> None:
    """MJPEG pictures and 8 kHz PCM whose channel layout has no name, as cheap cameras write."""
    with av.open(str(path), "w", format="avi") as container:
        video = container.add_stream("mjpeg", rate=10)
        video.width, video.height, video.pix_fmt = 160, 120, "yuvj420p"
        sound = container.add_stream("pcm_s16le", rate=8000)
        sound.layout = "mono"
        for index in range(10):
            frame = av.VideoFrame(160, 120, "yuvj420p")
            for plane in frame.planes:
                plane.update(bytes([(index * 25) % 256]) * plane.buffer_size)
            frame.pts = index
            container.mux(video.encode(frame))
        for start in range(0, 8000, 1000):
            chunk = av.AudioFrame.from_ndarray(
                np.zeros((1, 1000), dtype=np.int16), format="s16", layout="mono"
            )
            chunk.sample_rate, chunk.pts = 8000, start
            container.mux(sound.encode(chunk))
        container.mux(video.encode(None))
        container.mux(sound.encode(None))


def test_mjpeg_in_avi_with_unnamed_pcm(tmp_path: Path) -> None:
    src = tmp_path / "cam.avi"
    _avi_with_unnamed_pcm(src)
    assert needs_copy("video", probe_file(str(src), "video").probe)
    out = tmp_path / "cam.mp4"
    report = transcode_file(src, out, "video")
    assert report.frames == 10 and report.sound
    assert _streams(out) == [("video", "h264"), ("audio", "aac")]


def test_hevc_becomes_h264(tmp_path: Path) -> None:
    src = tmp_path / "hevc.mp4"
    with av.open(str(src), "w", format="mp4") as container:
        try:
            stream = container.add_stream("libx265", rate=10)
        except Exception:  # pragma: no cover - a PyAV build without x265
            pytest.skip("no HEVC encoder in this PyAV build")
        stream.width, stream.height, stream.pix_fmt = 128, 96, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 10)
        stream.options = {"x265-params": "log-level=error"}
        for index in range(10):
            frame = av.VideoFrame(128, 96, "yuv420p")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    assert not browser_playable(probe_file(str(src), "video").probe)
    out = tmp_path / "out.mp4"
    assert transcode_file(src, out, "video").frames == 10
    assert _streams(out) == [("video", "h264")]


def test_bad_input_fails_with_a_reason(tmp_path: Path, testdata: Path) -> None:
    cut = tmp_path / "cut.mp4"
    cut.write_bytes((testdata / "fixtures" / KARMA).read_bytes()[:100_000])
    with pytest.raises(TranscodeError):
        transcode_file(cut, tmp_path / "out.mp4", "video")
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(TranscodeError, match="empty"):
        transcode_file(empty, tmp_path / "out.mp4", "video")
    with pytest.raises(TranscodeError, match="photo"):
        transcode_file(empty, tmp_path / "out.mp4", "photo")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video" * 100)
    with pytest.raises(TranscodeError, match="not a readable video"):
        transcode_file(junk, tmp_path / "out.mp4", "video")
    assert not (tmp_path / "out.mp4").exists() and not list(tmp_path.glob(".*.part"))


def test_the_test_clips_are_what_browsers_refuse(tmp_path: Path) -> None:
    """Most tests upload `clip()`: MPEG-4 Part 2, the case the playable copy is for."""
    src = tmp_path / "clip.mp4"
    src.write_bytes(clip())
    assert probe_file(str(src), "video").probe["video_codec"] == "mpeg4"
