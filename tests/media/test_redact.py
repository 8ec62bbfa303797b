"""Redaction: faces and plates are unrecognisable in the shared copy, and nothing else leaks."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import skimage.data

from camtel.media import detect as detection
from camtel.media import redact
from camtel.media.detect import DetectorMissing, detect
from camtel.media.redact import RedactionError, blur_regions, redact_file
from camtel.media.redact_boxes import Box, Hold, expand, merge, padded, scale

WIDTH, HEIGHT, FPS, SECONDS = 480, 270, 15, 2
PLATE_TEXT = "AB 123 CD"
LOCATION = "+48.8584+002.2945/"  # MP4 stores it in a 'loci' box: that must not reach the copy


def astronaut_bgr() -> np.ndarray:
    return cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)


def sharpness(image: np.ndarray) -> float:
    """Detail: the variance of the Laplacian."""
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def inside(box: Box, x: int, y: int) -> bool:
    return box.x <= x < box.x + box.w and box.y <= y < box.y + box.h


# Pure pieces


def test_expand_grows_on_every_side_and_stays_in_the_image() -> None:
    assert expand(Box(100, 50, 40, 20, "face"), 640, 360, 0.25) == Box(90, 45, 60, 30, "face")
    assert expand(Box(0, 0, 40, 40, "plate"), 50, 45, 0.5) == Box(0, 0, 50, 45, "plate")


def test_blur_regions_destroys_detail_inside_and_touches_nothing_outside() -> None:
    image = astronaut_bgr()
    face = Box(170, 60, 120, 110, "face")
    out = blur_regions(image, [face])
    region = (slice(60, 170), slice(170, 290))
    assert sharpness(out[region]) < sharpness(image[region]) / 50
    assert np.abs(out[region].astype(int) - image[region]).mean() > 10
    outside = np.ones(image.shape[:2], bool)
    outside[region] = False
    assert np.array_equal(out[outside], image[outside])
    assert np.array_equal(image, astronaut_bgr())  # the input is not modified


def test_blur_regions_handles_grey_planes_and_boxes_past_the_edge() -> None:
    plane = np.random.default_rng(1).integers(0, 256, (90, 160), dtype=np.uint8)
    out = blur_regions(plane, [Box(150, 80, 40, 40, "plate"), Box(-5, -5, 1, 1, "face")])
    assert out.shape == plane.shape
    assert np.array_equal(out[:80], plane[:80])
    assert out[80:, 150:].std() < plane[80:, 150:].std()


def test_hold_covers_frames_before_and_after_a_detection() -> None:
    hold: Hold[int] = Hold(before=2, after=3)
    face = Box(1, 2, 3, 4, "face")
    out = []
    for frame in range(12):
        found = [face] if frame == 5 else ([] if frame % 3 == 0 else None)
        out += hold.push(frame, found)
    out += hold.flush()
    assert [frame for frame, _ in out] == list(range(12))
    covered = [frame for frame, boxes in out if boxes]
    assert covered == [3, 4, 5, 6, 7, 8]
    assert all(boxes == [face] for _, boxes in out if boxes)


def test_hold_keeps_a_face_covered_when_the_detector_misses_it_once() -> None:
    every = redact.DETECT_EVERY
    hold: Hold[int] = Hold(before=redact.HOLD_BEFORE, after=redact.HOLD_AFTER)
    face = Box(0, 0, 10, 10, "face")
    runs = {0: [face], every: [], 2 * every: [face]}  # the second run misses it
    out = []
    for frame in range(3 * every):
        out += hold.push(frame, runs.get(frame))
    out += hold.flush()
    assert all(boxes for _, boxes in out)


def test_detect_from_worker_threads_matches_the_calling_thread() -> None:
    image = astronaut_bgr()[::2, ::2].copy()
    expected = detect(image)
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(detect, [image] * 4))
    assert expected and all(found == expected for found in results)


def test_merge_joins_overlapping_finds_of_one_kind() -> None:
    a, b = Box(10, 10, 40, 40, "face"), Box(15, 12, 40, 40, "face")
    plate = Box(20, 20, 40, 10, "plate")
    assert merge([a, b, plate]) == [Box(10, 10, 45, 42, "face"), plate]


def test_scale_rounds_outwards_and_padded_uses_each_kinds_margin() -> None:
    assert scale(Box(3, 5, 7, 9, "face"), 0.5) == Box(1, 2, 4, 5, "face")
    assert scale(Box(10, 10, 10, 10, "plate"), 2.0) == Box(20, 20, 20, 20, "plate")
    face, plate = Box(100, 100, 20, 20, "face"), Box(100, 100, 40, 8, "plate")
    assert padded([face, plate], 1000, 1000) == [
        Box(94, 94, 32, 32, "face"),
        Box(90, 98, 60, 12, "plate"),
    ]


# Photos


@pytest.fixture(scope="module")
def astronaut_jpeg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The astronaut as a camera JPEG, with an Exif segment carrying a GPS marker."""
    ok, encoded = cv2.imencode(".jpg", astronaut_bgr(), [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    tiff = b"MM\x00*\x00\x00\x00\x08\x00\x00GPSLatitude 48.8584"
    app1 = b"Exif\x00\x00" + tiff
    data = encoded.tobytes()
    path = tmp_path_factory.mktemp("photo") / "astronaut.jpg"
    path.write_bytes(data[:2] + b"\xff\xe1" + (len(app1) + 2).to_bytes(2, "big") + app1 + data[2:])
    return path


def test_photo_face_is_found_then_gone_and_the_rest_kept(
    astronaut_jpeg: Path, tmp_path: Path
) -> None:
    original = cv2.imread(str(astronaut_jpeg))
    found = detect(original)
    assert any(b.kind == "face" and inside(b, 230, 120) for b in found), found  # her face

    out = tmp_path / "shared.jpg"
    report = redact_file(astronaut_jpeg, out, "photo")

    assert (report.kind, report.frames, report.width, report.height) == ("photo", 1, 512, 512)
    assert report.faces >= 1 and report.blurred_frames == 1
    data = out.read_bytes()
    assert data.startswith(b"\xff\xd8") and b"Exif" not in data and b"GPS" not in data
    shared = cv2.imread(str(out))
    assert [b for b in detect(shared) if b.kind == "face"] == []
    face = (slice(80, 160), slice(190, 270))
    assert sharpness(shared[face]) < sharpness(original[face]) / 20
    # The flag, far from any find, only went through one more JPEG pass.
    flag = (slice(0, 150), slice(0, 60))
    assert not any(inside(b, x, y) for b in found for x, y in [(0, 0), (59, 149)])
    assert np.abs(shared[flag].astype(int) - original[flag]).mean() < 3


def test_photo_png_is_accepted(tmp_path: Path) -> None:
    src = tmp_path / "in.png"
    cv2.imwrite(str(src), np.full((31, 47, 3), 128, np.uint8))
    report = redact_file(src, tmp_path / "out.jpg", "photo")
    assert (report.width, report.height, report.faces, report.plates) == (47, 31, 0, 0)
    assert cv2.imread(str(tmp_path / "out.jpg")).shape == (31, 47, 3)


# Video


def draw_plate(image: np.ndarray, x: int, y: int) -> tuple[slice, slice]:
    """An EU-style plate: white, black border, blue band, dark characters."""
    w, h = 150, 34
    cv2.rectangle(image, (x, y), (x + w, y + h), (255, 255, 255), -1)
    cv2.rectangle(image, (x, y), (x + w, y + h), (0, 0, 0), 2)
    cv2.rectangle(image, (x + 2, y + 2), (x + 13, y + h - 2), (160, 50, 0), -1)
    cv2.putText(image, PLATE_TEXT, (x + 17, y + 25), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 0, 0), 2)
    return slice(y, y + h), slice(x, x + w)


def road_frame(index: int, count: int, face: np.ndarray) -> tuple[np.ndarray, tuple[slice, slice]]:
    image = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    image[: HEIGHT // 2] = (200, 170, 140)
    image[HEIGHT // 2 :] = (70, 70, 70)
    shift = index * 4
    for x in range(-shift % 60 - 60, WIDTH, 60):
        cv2.line(image, (x, HEIGHT * 3 // 4), (x + 30, HEIGHT * 3 // 4), (230, 230, 230), 3)
    fx = 10 + (WIDTH - face.shape[1] - 20) * index // max(1, count - 1)
    image[20 : 20 + face.shape[0], fx : fx + face.shape[1]] = face
    return image, draw_plate(image, 300, 200)


@dataclass
class Clip:
    path: Path
    frames: list[np.ndarray]
    plate: tuple[slice, slice]


@pytest.fixture(scope="module")
def road_clip(tmp_path_factory: pytest.TempPathFactory) -> Clip:
    """A face crossing the road with a parked car's plate, plus sound and a GPS location."""
    face = cv2.resize(astronaut_bgr()[20:230, 130:330], (100, 105), interpolation=cv2.INTER_AREA)
    path = tmp_path_factory.mktemp("clip") / "road.mp4"
    count = FPS * SECONDS
    frames = []
    with av.open(str(path), "w") as out:
        out.metadata["location"] = LOCATION
        video = out.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        video.options = {"crf": "18", "preset": "ultrafast"}
        audio = out.add_stream("aac", rate=16_000)
        audio.layout = "mono"
        for i in range(count):
            image, plate = road_frame(i, count, face)
            frames.append(image)
            out.mux(video.encode(av.VideoFrame.from_ndarray(image, format="bgr24")))
        out.mux(video.encode(None))
        tone = (np.sin(np.arange(16_000 * SECONDS) / 5) * 0.3).astype(np.float32)
        for start in range(0, tone.size, 1024):
            chunk = av.AudioFrame.from_ndarray(
                tone[None, start : start + 1024], format="fltp", layout="mono"
            )
            chunk.sample_rate, chunk.pts = 16_000, start
            chunk.time_base = Fraction(1, 16_000)
            out.mux(audio.encode(chunk))
        out.mux(audio.encode(None))
    return Clip(path, frames, plate)


@pytest.fixture(scope="module")
def redacted_clip(road_clip: Clip, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("shared") / "road.mp4"
    seen: list[float] = []
    report = redact_file(road_clip.path, out, "video", progress=seen.append)
    return out, report, seen


def decode_all(path: Path) -> tuple[list[np.ndarray], float, list[str]]:
    """The frames, the video's duration in seconds and the types of all streams."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="bgr24") for f in container.decode(stream)]
        types = [s.type for s in container.streams]
        return frames, float(stream.duration * stream.time_base), types


def test_clip_has_something_to_hide(road_clip: Clip) -> None:
    kinds = [{b.kind for b in detect(f)} for f in road_clip.frames[::5]]
    assert sum("face" in k for k in kinds) >= len(kinds) // 2, kinds
    assert sum("plate" in k for k in kinds) >= len(kinds) // 2, kinds
    assert b"loci" in road_clip.path.read_bytes()


def test_video_copy_shows_no_face_or_plate(road_clip: Clip, redacted_clip) -> None:
    out, report, seen = redacted_clip
    frames, duration, types = decode_all(out)
    assert types == ["video"]
    assert abs(len(frames) - len(road_clip.frames)) <= 1
    assert duration == pytest.approx(SECONDS, abs=1.5 / FPS)
    assert (report.kind, report.width, report.height) == ("video", WIDTH, HEIGHT)
    assert report.frames == len(frames) and report.faces > 0 and report.plates > 0
    assert report.blurred_frames == len(frames)
    leaks = [(i, detect(frame)) for i, frame in enumerate(frames)]
    assert [leak for leak in leaks if leak[1]] == []
    rows, cols = road_clip.plate
    for before, after in zip(road_clip.frames, frames, strict=False):
        assert np.abs(after[rows, cols].astype(int) - before[rows, cols]).mean() > 40
        assert sharpness(after[rows, cols]) < sharpness(before[rows, cols]) / 20
    assert seen[-1] == 1.0 and seen == sorted(seen)


def test_video_copy_is_a_bare_faststart_h264(redacted_clip) -> None:
    out, _, _ = redacted_clip
    data = out.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")
    assert b"loci" not in data and b"Lavf" not in data  # no location, not even an encoder tag
    with av.open(str(out)) as container:
        assert [s.type for s in container.streams] == ["video"]
        video = container.streams.video[0]
        assert (video.codec_context.name, video.codec_context.pix_fmt) == ("h264", "yuv420p")
        assert "location" not in container.metadata


def test_dashcam_recording_loses_audio_and_telemetry(
    testdata: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real GoPro recording: the GPS track ('gpmd') and the camera's tags do not survive.

    This test is about what the container keeps, so the detector is a stub finding one face
    per run and x264 runs at its fastest preset (the real settings take ~10 s on this 13 s clip).
    """
    src = testdata / "fixtures" / "gopro_karma.mp4"
    original = src.read_bytes()
    assert b"gpmd" in original and b"GoPro MET" in original and b"HD5.02" in original
    monkeypatch.setattr(redact, "detect_gray", lambda gray, **_: [Box(10, 10, 40, 40, "face")])
    monkeypatch.setattr(redact, "PRESET", "ultrafast")
    out = tmp_path / "karma.mp4"
    report = redact_file(src, out, "video")

    data = out.read_bytes()
    for marker in (b"gpmd", b"GoPro", b"HD5.02", b"GPMF", b"tmcd", b"mp4a", b"Lavf"):
        assert marker not in data, marker
    with av.open(str(src)) as original_container:
        source = original_container.streams.video[0]
        frames, source_s = source.frames, float(source.duration * source.time_base)
    with av.open(str(out)) as container:
        assert [s.type for s in container.streams] == ["video"]
        video = container.streams.video[0]
        assert sum(1 for _ in container.decode(video)) == frames == report.frames
        assert float(video.duration * video.time_base) == pytest.approx(source_s, abs=0.05)
    assert (report.width, report.height) == (854, 480)
    runs = -(-frames // redact.DETECT_EVERY)
    assert (report.faces, report.plates, report.blurred_frames) == (runs, 0, frames)


# Bad input


def audio_only(path: Path) -> None:
    with av.open(str(path), "w", format="mp4") as out:
        audio = out.add_stream("aac", rate=16_000)
        audio.layout = "mono"
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp",
                                           layout="mono")  # fmt: skip
        frame.sample_rate, frame.pts = 16_000, 0
        out.mux(audio.encode(frame))
        out.mux(audio.encode(None))


@pytest.mark.parametrize(
    ("name", "kind", "make", "message"),
    [
        ("empty.mp4", "video", lambda p, clip: p.write_bytes(b""), "empty"),
        ("noise.mp4", "video", lambda p, clip: p.write_bytes(bytes(range(256)) * 40), "readable"),
        (
            "noise.jpg",
            "photo",
            lambda p, clip: p.write_bytes(b"\xff\xd8\xff" + b"x" * 999),
            "image",
        ),
        ("sound.mp4", "video", lambda p, clip: audio_only(p), "no video stream"),
        # A camera's file cut short: the index ('moov') is written last, so it is missing.
        ("cut.mp4", "video", lambda p, clip: p.write_bytes(clip[: len(clip) // 2]), "readable"),
    ],
)
def test_bad_input_is_refused_and_leaves_nothing(
    tmp_path: Path, road_clip: Clip, name: str, kind: str, make, message: str
) -> None:
    src = tmp_path / name
    make(src, road_clip.path.read_bytes())
    dst = tmp_path / "out" / ("shared.jpg" if kind == "photo" else "shared.mp4")
    dst.parent.mkdir()
    with pytest.raises(RedactionError, match=message):
        redact_file(src, dst, kind)
    assert list(dst.parent.iterdir()) == []


def test_faststart_file_cut_short_is_refused(tmp_path: Path, redacted_clip) -> None:
    out, _, _ = redacted_clip
    data = out.read_bytes()
    src = tmp_path / "cut.mp4"
    src.write_bytes(data[: len(data) * 6 // 10])  # index first: the frames run out early
    with pytest.raises(RedactionError, match=r"truncated|decoded"):
        redact_file(src, tmp_path / "shared.mp4", "video")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.mp4"]


def test_missing_file_and_unknown_kind(tmp_path: Path) -> None:
    with pytest.raises(RedactionError, match="cannot read"):
        redact_file(tmp_path / "nope.mp4", tmp_path / "out.mp4", "video")
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(RedactionError, match="only 'video' and 'photo'"):
        redact_file(tmp_path / "a.txt", tmp_path / "out", "audio")


def test_a_missing_detector_fails_the_redaction(
    astronaut_jpeg: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without OpenCV's cascades nothing could be blurred: the copy is refused, not made bare."""

    def missing() -> None:
        raise DetectorMissing("the OpenCV cascade haarcascade_frontalface_default.xml is missing")

    monkeypatch.setattr(detection, "_cascades", missing)
    with pytest.raises(RedactionError, match=r"cascade .* is missing"):
        redact_file(astronaut_jpeg, tmp_path / "shared.jpg", "photo")
    assert list(tmp_path.iterdir()) == []
