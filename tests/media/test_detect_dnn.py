"""Faces by CenterFace: small, turned and covered faces the Haar cascades missed are found and
blurred, the network is decoded right, and the shipped model is the one its origin note names."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from camtel.media import centerface, redact
from camtel.media import detect as detection
from camtel.media.detect import detect, detect_gray
from camtel.media.redact import RedactionError, redact_file
from camtel.media.redact_boxes import Box
from media.test_redact import astronaut_bgr, sharpness

HEAD = (slice(30, 230), slice(140, 310))  # the astronaut's head in skimage's photo...
FACE = (38, 45, 95, 108)  # ...and her face in it: x, y, w, h


def haar_faces(gray: np.ndarray) -> list[tuple[int, int, int, int]]:
    """The Haar cascades as camtel ran them before CenterFace (frontal, profile both ways)."""
    folder = Path(cv2.data.haarcascades)
    frontal = cv2.CascadeClassifier(str(folder / "haarcascade_frontalface_default.xml"))
    profile = cv2.CascadeClassifier(str(folder / "haarcascade_profileface.xml"))
    gray = cv2.equalizeHist(gray)
    found = [*frontal.detectMultiScale(gray, scaleFactor=1.15, minNeighbors=3, minSize=(20, 20))]
    for image in (gray, cv2.flip(gray, 1)):
        found += [
            *profile.detectMultiScale(image, scaleFactor=1.2, minNeighbors=3, minSize=(20, 20))
        ]
    return [tuple(int(v) for v in box) for box in found]


def road(width: int = 640, height: int = 360) -> np.ndarray:
    image = np.zeros((height, width, 3), np.uint8)
    image[: height // 2] = (200, 170, 140)
    image[height // 2 :] = (70, 70, 70)
    cv2.line(image, (0, height * 3 // 4), (width, height * 3 // 4), (230, 230, 230), 3)
    return image


def paste_face(
    image: np.ndarray,
    x: int,
    y: int,
    width: int,
    *,
    squeeze: float = 1.0,
    eyes_covered: bool = False,
) -> Box:
    """The astronaut's face `width` px wide (times `squeeze` across: a turned head) with its
    head around it, at (x, y); returns the face's true box."""
    factor = width / FACE[2]
    head = cv2.resize(astronaut_bgr()[HEAD], None, fx=factor * squeeze, fy=factor,
                      interpolation=cv2.INTER_AREA)  # fmt: skip
    fx, fy = round(FACE[0] * factor * squeeze), round(FACE[1] * factor)
    fw, fh = round(FACE[2] * factor * squeeze), round(FACE[3] * factor)
    if eyes_covered:  # sunglasses, or a visor's shadow
        top = fy + round(0.22 * fh)
        cv2.rectangle(head, (0, top), (head.shape[1], top + round(0.25 * fh)), (35, 35, 35), -1)
    image[y : y + head.shape[0], x : x + head.shape[1]] = head
    return Box(x + fx, y + fy, fw, fh, "face")


def covers(found: Box, truth: Box) -> bool:
    """Whether most of the true face lies inside the found box."""
    w = min(found.x + found.w, truth.x + truth.w) - max(found.x, truth.x)
    h = min(found.y + found.h, truth.y + truth.h) - max(found.y, truth.y)
    return w > 0 and h > 0 and w * h >= 0.6 * truth.w * truth.h


def test_a_real_face_30_px_wide_in_a_1080p_frame_is_found_where_the_cascades_missed_it() -> None:
    image = road(1920, 1080)
    truth = paste_face(image, 900, 400, 30)
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    # The cascades ran at 512 px wide, where this face is 8 px: too small for them.
    assert haar_faces(cv2.resize(gray, (512, 288), interpolation=cv2.INTER_AREA)) == []
    found = detect_gray(
        gray, max_width=redact.VIDEO_DETECT_WIDTH, face_width=redact.VIDEO_FACE_WIDTH
    )
    faces = [b for b in found if b.kind == "face"]
    assert [b for b in faces if covers(b, truth)], (faces, truth)
    assert len(faces) == 1  # and nothing on the road


def test_a_turned_face_with_covered_eyes_is_found_where_the_cascades_missed_it() -> None:
    image = road()
    truth = paste_face(image, 300, 100, 100, squeeze=0.5, eyes_covered=True)
    assert haar_faces(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)) == []
    faces = [b for b in detect(image) if b.kind == "face"]
    assert [b for b in faces if covers(b, truth)], (faces, truth)


def test_a_network_answers_the_same_after_another_input_size() -> None:
    """OpenCV 4.14 gets a Net's second input size wrong: each size has its own Net."""
    gray = cv2.cvtColor(astronaut_bgr(), cv2.COLOR_BGR2GRAY)
    expected = centerface.Network().faces(gray)
    network = centerface.Network()
    small = network.faces(np.ascontiguousarray(gray[::2, ::2]))
    assert network.faces(gray) == expected and len(expected) == 1
    assert network.faces(np.ascontiguousarray(gray[::2, ::2])) == small


def test_decode_places_a_face_from_the_maps_and_keeps_the_best_of_overlapping_finds() -> None:
    h, w = 30, 40  # maps of a 160x120 image
    heatmap = np.zeros((1, 1, h, w), np.float32)
    log_size = np.zeros((1, 2, h, w), np.float32)
    offset = np.zeros((1, 2, h, w), np.float32)
    heatmap[0, 0, 10, 20] = 0.9  # a face 48 px high, 32 wide, centred on (82, 44)
    log_size[0, :, 10, 20] = (np.log(48 / 4), np.log(32 / 4))
    offset[0, :, 10, 20] = (0.5, -0.0)
    heatmap[0, 0, 10, 21] = 0.5  # the same face, seen by the next cell
    log_size[0, :, 10, 21] = (np.log(48 / 4), np.log(32 / 4))
    heatmap[0, 0, 25, 2] = 0.1  # below the threshold
    found = centerface.decode(heatmap, log_size, offset, width=160, height=120)
    assert found == [(Box(66, 20, 32, 48, "face"), pytest.approx(0.9))]
    near_edge = centerface.decode(heatmap, log_size, offset, width=90, height=60)
    assert near_edge[0][0] == Box(66, 20, 24, 40, "face")  # clipped to the image


def test_the_model_is_the_file_its_origin_note_names() -> None:
    note = (centerface.MODEL.parent / "ORIGIN.md").read_text()
    sha256 = re.search(r"^sha256: ([0-9a-f]{64})$", note, re.M)
    size = re.search(r"^size: (\d+) bytes$", note, re.M)
    assert sha256 and size
    data = centerface.MODEL.read_bytes()
    assert hashlib.sha256(data).hexdigest() == sha256[1]
    assert len(data) == int(size[1])


def test_a_missing_face_model_fails_the_redaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the model nothing could be blurred: the copy is refused, not made bare."""
    monkeypatch.setattr(centerface, "MODEL", tmp_path / "centerface.onnx")
    monkeypatch.setattr(detection, "_network", None)
    src = tmp_path / "photo.png"
    cv2.imwrite(str(src), astronaut_bgr())
    with pytest.raises(RedactionError, match=r"face model centerface\.onnx is missing"):
        redact_file(src, tmp_path / "shared.jpg", "photo")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.png"]


# A small face in a video: found, blurred in every frame of the shared copy


WIDTH, HEIGHT, FPS, FRAMES = 1280, 720, 15, 15
SMALL_FACE = 32  # px wide in a 720p frame


def area(box: Box) -> tuple[slice, slice]:
    return slice(box.y, box.y + box.h), slice(box.x, box.x + box.w)


def test_a_small_face_in_a_video_is_blurred_in_every_frame(tmp_path: Path) -> None:
    src, frames, faces = tmp_path / "small.mp4", [], []
    with av.open(str(src), "w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"crf": "18", "preset": "ultrafast"}
        for i in range(FRAMES):
            image = road(WIDTH, HEIGHT)
            faces.append(paste_face(image, 400 + 3 * i, 300, SMALL_FACE))  # walking
            frames.append(image)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")))
        out.mux(stream.encode(None))
    assert [b for b in detect(frames[0]) if covers(b, faces[0])]

    shared = tmp_path / "shared.mp4"
    report = redact_file(src, shared, "video")

    assert report.faces >= -(-FRAMES // redact.DETECT_EVERY)  # every run found it
    with av.open(str(shared)) as container:
        copy = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
    assert len(copy) == FRAMES
    for before, after, face in zip(frames, copy, faces, strict=True):
        assert sharpness(after[area(face)]) < sharpness(before[area(face)]) / 10
        # At this size the network can still take the blurred blob (hair above skin) for a
        # face, at a score near its threshold; whatever it finds must be blurred already.
        for found in detect(after):
            assert sharpness(after[area(found)]) < sharpness(before[area(found)]) / 10, found
