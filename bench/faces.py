"""Face detectors compared: recall and speed on generated 1080p road scenes with known faces.

Real face photos are pasted, with a soft edge, onto frames of a real outdoor recording
(tests/data/fixtures/gopro_karma.mp4: coast road, cars, people far away; Apache-2.0 OR MIT)
scaled to 1920x1080, at face widths of 24-200 px. Each face gets one condition: as photographed,
rolled (in-plane rotation), turned (yaw approximated by squeezing the face horizontally to
cos(yaw) of its width), or partly covered by a bar (eyes, mouth and chin, or one side). The
faces, with their licences:

- the astronaut Eileen Collins (skimage.data.astronaut; NASA, public domain), frontal;
- the cameraman (skimage.data.camera; CC0, photographer Lav Varshney), turned about 60 degrees
  with his camera over part of his face;
- six faces of Labeled Faces in the Wild (skimage.data.lfw_subset, 25x25 grey crops; LFW is
  published for research by the University of Massachusetts, no licence stated; used here only
  to measure, never shipped), scaled up, so blurry at large sizes.

Detection runs as redaction runs it: on the greyscale frame, scaled down to the detection width.
A face counts as found when one detection, padded by redaction's face margin, covers at least
80 % of its true box (and is not more than 9 times its area); a detection whose centre is in no
face (grown by half) is a false find. Time is the median over the frames of one detection of a
1080p frame, after a warm-up, with each runtime's default threads.

The detectors: today's Haar cascades (frontal, profile, mirrored profile; the parameters
detect.py used), and CenterFace (media/centerface.py) on OpenCV's DNN module and, when
`onnxruntime` and `onnx` are installed (`pip install onnxruntime onnx`; onnx only rewrites the
model's fixed input size), on ONNX Runtime. Run:
    .venv/bin/python bench/faces.py [--frames 56] [--widths 512,960,1280,1920]
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import av
import cv2
import numpy as np
import skimage.data

from camtel.media import centerface
from camtel.media.redact_boxes import FACE_MARGIN, Box, expand

ROOT = Path(__file__).resolve().parents[1]
FOOTAGE = ROOT / "tests" / "data" / "fixtures" / "gopro_karma.mp4"
WIDTH, HEIGHT = 1920, 1080
BANDS = ((24, 48), (48, 75), (75, 120), (120, 200))
CONDITIONS = (
    "as photographed",
    "rolled 25 deg",
    "turned ~45 deg (x0.7)",
    "turned ~65 deg (x0.45)",
    "eyes covered",
    "mouth+chin covered",
    "one side covered",
)
SQUEEZE = {"turned ~45 deg (x0.7)": 0.7, "turned ~65 deg (x0.45)": 0.45}
FACES_PER_FRAME = 8  # a 4x2 grid of 480x540 cells, one face in each
THRESHOLDS = (0.1, 0.2, 0.3, 0.5)  # CenterFace heatmap scores compared


@dataclasses.dataclass(frozen=True)
class Source:
    name: str
    image: np.ndarray  # BGR, the face with some head around it
    face: tuple[int, int, int, int]  # x, y, w, h of the face in `image`
    oval: bool  # soft oval edge (a head) or soft rectangle (a tight face crop)


@dataclasses.dataclass(frozen=True)
class Truth:
    box: Box
    source: str
    band: int
    condition: str


def sources() -> list[Source]:
    astronaut = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)
    camera = cv2.cvtColor(skimage.data.camera(), cv2.COLOR_GRAY2BGR)
    found = [
        Source("astronaut", astronaut[30:230, 140:310], (38, 45, 95, 108), True),
        Source("cameraman", camera[60:250, 150:300], (40, 45, 70, 95), True),
    ]
    lfw = (skimage.data.lfw_subset()[:100] * 255).round().astype(np.uint8)
    for i in (0, 1, 2, 3, 11, 15):
        face = cv2.cvtColor(lfw[i], cv2.COLOR_GRAY2BGR)
        found.append(Source(f"lfw-{i}", face, (0, 0, 25, 25), False))
    return found


def backgrounds(count: int) -> list[np.ndarray]:
    """`count` frames spread over the recording, scaled to 1080p."""
    with av.open(str(FOOTAGE)) as container:
        stream = container.streams.video[0]
        total = stream.frames
        wanted = {i * total // count for i in range(count)}
        frames = [
            cv2.resize(f.to_ndarray(format="bgr24"), (WIDTH, HEIGHT), interpolation=cv2.INTER_CUBIC)
            for i, f in enumerate(container.decode(stream))
            if i in wanted
        ]
    return frames


def _mask(shape: tuple[int, int], oval: bool) -> np.ndarray:
    h, w = shape
    mask = np.zeros((h, w), np.float32)
    if oval:
        cv2.ellipse(mask, (w // 2, h // 2), (w * 9 // 20, h * 9 // 20), 0, 0, 360, 1.0, -1)
    else:
        mask[:] = 1.0
    soft = max(1, min(h, w) // 12) * 2 + 1
    return cv2.GaussianBlur(mask, (soft, soft), 0) if oval else mask


def _cover(image: np.ndarray, face: tuple[float, float, float, float], condition: str) -> None:
    """A bar over part of the face: sunglasses, a scarf, or a hand or pillar at one side."""
    x, y, w, h = face
    if condition == "eyes covered":
        rect, shade = (x, y + 0.22 * h, w, 0.25 * h), 35
    elif condition == "mouth+chin covered":
        rect, shade = (x, y + 0.6 * h, w, 0.45 * h), 150
    elif condition == "one side covered":
        rect, shade = (x - 0.05 * w, y - 0.05 * h, 0.45 * w, 1.1 * h), 90
    else:
        return
    x0, y0, rw, rh = (round(v) for v in rect)
    cv2.rectangle(image, (x0, y0), (x0 + rw, y0 + rh), (shade, shade, shade), -1)


def place(frame: np.ndarray, source: Source, size: int, condition: str, at: tuple[int, int],
          rng: np.random.Generator) -> Box:  # fmt: skip
    """Paste the source's face `size` px wide, in one condition, centred at `at`; its true box."""
    fx, fy, fw, fh = source.face
    scale = size / fw
    squeeze = SQUEEZE.get(condition, 1.0)
    sx, sy = scale * squeeze, scale
    image = cv2.resize(source.image, None, fx=sx, fy=sy,
                       interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)  # fmt: skip
    mask = _mask(image.shape[:2], source.oval)
    face = (fx * sx, fy * sy, fw * sx, fh * sy)
    _cover(image, face, condition)
    corners = np.array(
        [[face[0], face[1]], [face[0] + face[2], face[1]], [face[0], face[1] + face[3]],
         [face[0] + face[2], face[1] + face[3]]], np.float32,
    )  # fmt: skip
    if condition == "rolled 25 deg":
        h, w = image.shape[:2]
        angle = 25.0 if rng.random() < 0.5 else -25.0
        turn = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        cos, sin = abs(turn[0, 0]), abs(turn[0, 1])
        nw, nh = math.ceil(w * cos + h * sin), math.ceil(w * sin + h * cos)
        turn[:, 2] += ((nw - w) / 2, (nh - h) / 2)
        image = cv2.warpAffine(image, turn, (nw, nh), flags=cv2.INTER_LINEAR)
        mask = cv2.warpAffine(mask, turn, (nw, nh), flags=cv2.INTER_LINEAR)
        corners = cv2.transform(corners[None], turn)[0]
    h, w = image.shape[:2]
    x0 = min(max(0, at[0] - w // 2), WIDTH - w)
    y0 = min(max(0, at[1] - h // 2), HEIGHT - h)
    region = frame[y0 : y0 + h, x0 : x0 + w].astype(np.float32)
    alpha = mask[..., None]
    frame[y0 : y0 + h, x0 : x0 + w] = (
        (alpha * image + (1 - alpha) * region).round().astype(np.uint8)
    )
    left, top = corners.min(axis=0)
    right, bottom = corners.max(axis=0)
    return Box(
        x0 + int(left), y0 + int(top), math.ceil(right - left), math.ceil(bottom - top), "face"
    )


def scenes(count: int, seed: int = 16) -> list[tuple[np.ndarray, list[Truth]]]:
    """`count` 1080p frames, each with FACES_PER_FRAME faces; every source, band and condition
    in turn so each combination appears about equally often."""
    rng = np.random.default_rng(seed)
    faces = sources()
    combos = [(s, b, c) for s in faces for b in range(len(BANDS)) for c in CONDITIONS]
    order = [combos[i] for i in rng.permutation(len(combos))]
    out = []
    for n, frame in enumerate(backgrounds(count)):
        truths = []
        for cell in range(FACES_PER_FRAME):
            source, band, condition = order[(n * FACES_PER_FRAME + cell) % len(order)]
            low, high = BANDS[band]
            size = round(math.exp(rng.uniform(math.log(low), math.log(high))))
            col, row = cell % 4, cell // 4
            at = (
                col * 480 + 240 + int(rng.integers(-100, 101)),
                row * 540 + 270 + int(rng.integers(-120, 121)),
            )
            box = place(frame, source, size, condition, at, rng)
            truths.append(Truth(box, source.name, band, condition))
        out.append((frame, truths))
    return out


# Detectors: a greyscale 1080p frame in, (face box, score) pairs in its pixels out.

Detector = Callable[[np.ndarray], list[tuple[Box, float]]]


def _scaled(gray: np.ndarray, width: int) -> tuple[np.ndarray, float]:
    if gray.shape[1] <= width:
        return gray, 1.0
    factor = width / gray.shape[1]
    size = (width, round(gray.shape[0] * factor))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA), factor


def _back(box: Box, factor: float) -> Box:
    return Box(*(round(v / factor) for v in (box.x, box.y, box.w, box.h)), box.kind)


def haar(width: int) -> Detector:
    """The cascades as detect.py ran them before CenterFace (one score: 1)."""
    folder = Path(cv2.data.haarcascades)  # type: ignore[attr-defined]
    frontal = cv2.CascadeClassifier(str(folder / "haarcascade_frontalface_default.xml"))
    profile = cv2.CascadeClassifier(str(folder / "haarcascade_profileface.xml"))

    def run(gray: np.ndarray) -> list[tuple[Box, float]]:
        small, factor = _scaled(gray, width)
        small = cv2.equalizeHist(small)
        flipped = cv2.flip(small, 1)
        found = [Box(*map(int, r), "face") for r in frontal.detectMultiScale(
            small, scaleFactor=1.15, minNeighbors=3, minSize=(20, 20))]  # fmt: skip
        found += [Box(*map(int, r), "face") for r in profile.detectMultiScale(
            small, scaleFactor=1.2, minNeighbors=3, minSize=(20, 20))]  # fmt: skip
        for x, y, w, h in profile.detectMultiScale(
            flipped, scaleFactor=1.2, minNeighbors=3, minSize=(20, 20)
        ):
            found.append(Box(int(small.shape[1] - x - w), int(y), int(w), int(h), "face"))
        return [(_back(b, factor), 1.0) for b in found]

    return run


def centerface_opencv(width: int) -> Detector:
    net = centerface.load()

    def run(gray: np.ndarray) -> list[tuple[Box, float]]:
        small, factor = _scaled(gray, width)
        net.setInput(centerface.blob(small), centerface.INPUT)
        maps = net.forward(list(centerface.OUTPUTS))
        found = centerface.decode(*maps, width=small.shape[1], height=small.shape[0],
                                  threshold=min(THRESHOLDS))  # fmt: skip
        return [(_back(b, factor), s) for b, s in found]

    return run


def _onnxruntime_session():  # type: ignore[no-untyped-def]
    """An ONNX Runtime session on the model with its input size left free, or None."""
    try:
        import onnx
        import onnxruntime
        from onnx.tools.update_model_dims import update_inputs_outputs_dims
    except ImportError:
        return None
    onnxruntime.set_default_logger_severity(3)
    model = onnx.load(str(centerface.MODEL))

    def dims(values):  # type: ignore[no-untyped-def]
        return {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim] for v in values}

    inputs, outputs = dims(model.graph.input), dims(model.graph.output)
    inputs[centerface.INPUT] = ["B", 3, "H", "W"]
    for name, channels in zip(("537", "538", "539", "540"), (1, 2, 2, 10), strict=True):
        outputs[name] = ["B", channels, "h", "w"]
    model = update_inputs_outputs_dims(model, inputs, outputs)
    return onnxruntime.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )


def centerface_onnxruntime(session, width: int) -> Detector:  # type: ignore[no-untyped-def]
    def run(gray: np.ndarray) -> list[tuple[Box, float]]:
        small, factor = _scaled(gray, width)
        maps = session.run(list(centerface.OUTPUTS), {centerface.INPUT: centerface.blob(small)})
        found = centerface.decode(*maps, width=small.shape[1], height=small.shape[0],
                                  threshold=min(THRESHOLDS))  # fmt: skip
        return [(_back(b, factor), s) for b, s in found]

    return run


# Scoring


def _covered(truth: Box, found: Box) -> bool:
    blurred = expand(found, 10**6, 10**6, FACE_MARGIN)
    w = min(truth.x + truth.w, blurred.x + blurred.w) - max(truth.x, blurred.x)
    h = min(truth.y + truth.h, blurred.y + blurred.h) - max(truth.y, blurred.y)
    area = truth.w * truth.h
    return w > 0 and h > 0 and w * h >= 0.8 * area and blurred.w * blurred.h <= 9 * area


def _false(found: Box, truths: list[Truth]) -> bool:
    cx, cy = found.x + found.w / 2, found.y + found.h / 2
    for t in truths:
        grown = expand(t.box, 10**6, 10**6, 0.5)
        if grown.x <= cx < grown.x + grown.w and grown.y <= cy < grown.y + grown.h:
            return False
    return True


@dataclasses.dataclass
class Result:
    name: str
    found: dict[str, list[bool]] = dataclasses.field(default_factory=lambda: defaultdict(list))
    false_finds: int = 0
    frames: int = 0
    ms: float = 0.0

    def recall(self, key: str) -> str:
        hits = self.found[key]
        return f"{100 * sum(hits) / len(hits):.0f}%" if hits else "-"


Finds = list[list[tuple[Box, float]]]  # per frame


def run(detectors: dict[str, Detector], frames: list[tuple[np.ndarray, list[Truth]]]
        ) -> tuple[dict[str, Finds], dict[str, float]]:  # fmt: skip
    """Every detector on every frame, in turn on each frame so all see the same machine load;
    the finds and the median ms per frame of each."""
    grays = [cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) for frame, _ in frames]
    for detector in detectors.values():
        detector(grays[0])  # warm-up
    finds: dict[str, Finds] = {name: [] for name in detectors}
    times: dict[str, list[float]] = {name: [] for name in detectors}
    for i, gray in enumerate(grays):
        for name, detector in detectors.items():
            started = time.perf_counter()
            finds[name].append(detector(gray))
            times[name].append(time.perf_counter() - started)
        if i % 10 == 9:
            print(f"  {i + 1} frames, load {os.getloadavg()[0]:.1f}", flush=True)
    return finds, {name: 1000 * statistics.median(t) for name, t in times.items()}


def score(name: str, finds: Finds, frames: list[tuple[np.ndarray, list[Truth]]],
          threshold: float, ms: float) -> Result:  # fmt: skip
    result = Result(name, ms=ms)
    for found, (_, truths) in zip(finds, frames, strict=True):
        boxes = [b for b, s in found if s >= threshold]
        result.frames += 1
        result.false_finds += sum(_false(b, truths) for b in boxes)
        for t in truths:
            hit = any(_covered(t.box, b) for b in boxes)
            for key in ("all", f"band{t.band}", t.condition, t.source):
                result.found[key].append(hit)
    return result


def table(results: list[Result]) -> None:
    bands = [f"{low}-{high} px" for low, high in BANDS]
    print("\nrecall by face width, false finds per frame, ms per 1080p frame")
    print(f"| detector | {' | '.join(bands)} | all | false/frame | ms/frame |")
    print("|---" * (len(bands) + 5) + "|")
    for r in results:
        cells = [r.recall(f"band{i}") for i in range(len(BANDS))]
        print(f"| {r.name} | {' | '.join(cells)} | {r.recall('all')} | "
              f"{r.false_finds / r.frames:.2f} | {r.ms:.0f} |")  # fmt: skip
    print("\nrecall by condition and by face (all face widths)")
    names = [*CONDITIONS, *(s.name for s in sources())]
    print(f"| detector | {' | '.join(names)} |")
    print("|---" * (len(names) + 1) + "|")
    for r in results:
        print(f"| {r.name} | {' | '.join(r.recall(n) for n in names)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=56, help="generated 1080p scenes")
    parser.add_argument("--widths", default="512,960,1280,1920", help="detection widths, px")
    parser.add_argument("--save", type=Path, help="write the first scene, boxes drawn, here")
    args = parser.parse_args()
    widths = [int(w) for w in args.widths.split(",")]
    frames = scenes(args.frames)
    faces = sum(len(t) for _, t in frames)
    print(f"{len(frames)} scenes, {faces} faces, {os.cpu_count()} CPUs, load "
          f"{os.getloadavg()[0]:.1f}, OpenCV {cv2.__version__}")  # fmt: skip
    if args.save:
        image = frames[0][0].copy()
        for t in frames[0][1]:
            b = t.box
            cv2.rectangle(image, (b.x, b.y), (b.x + b.w, b.y + b.h), (0, 255, 0), 2)
        cv2.imwrite(str(args.save), image)
    session = _onnxruntime_session()
    detectors: dict[str, Detector] = {}
    for width in widths:
        detectors[f"Haar @{width}"] = haar(width)
        detectors[f"CenterFace OpenCV @{width}"] = centerface_opencv(width)
        if session is not None:
            detectors[f"CenterFace ORT @{width}"] = centerface_onnxruntime(session, width)
    if session is None:
        print("(ONNX Runtime left out: pip install onnxruntime onnx)")
    finds, ms = run(detectors, frames)
    results = []
    for name in detectors:
        if name.startswith("Haar"):
            results.append(score(name, finds[name], frames, 1.0, ms[name]))
        elif "ORT" in name:
            results.append(score(name, finds[name], frames, centerface.THRESHOLD, ms[name]))
        else:
            for t in THRESHOLDS:
                results.append(score(f"{name} t={t}", finds[name], frames, t, ms[name]))
    haar_video = f"Haar @{widths[0]}"
    for width in widths:
        name = f"CenterFace OpenCV @{width}"
        both = [[*a, *b] for a, b in zip(finds[name], finds[haar_video], strict=True)]
        results.append(score(f"{name} t={centerface.THRESHOLD} + {haar_video}", both, frames,
                             centerface.THRESHOLD, ms[name] + ms[haar_video]))  # fmt: skip
    table(results)


if __name__ == "__main__":
    main()
