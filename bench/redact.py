"""Redaction speed: frames per second of `redact_file` on generated 360p, 720p and 1080p clips.

Each clip (a face crossing a road, a parked car's plate, 30 fps) is generated once with PyAV
into a temporary folder. The floor, measured in the same run, is the same decode and H.264
re-encode (same preset and CRF, same yuv420p conversion) with no detection and no blurring:
what any redaction pays before it looks at a pixel. Medians of `--repeat` runs. Run:
    .venv/bin/python bench/redact.py [--seconds 4] [--repeat 3] [--face-width 512]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import av
import cv2
import numpy as np
import skimage.data

from camtel.media import encode, redact

CACHE = Path(tempfile.gettempdir()) / "camtel-bench-redact"
FPS = 30
SIZES = ((640, 360), (1280, 720), (1920, 1080))


def make_clip(path: Path, width: int, height: int, seconds: int) -> None:
    face_px = height // 3
    face = cv2.cvtColor(skimage.data.astronaut()[20:230, 130:330], cv2.COLOR_RGB2BGR)
    face = cv2.resize(face, (face_px, face_px), interpolation=cv2.INTER_AREA)
    count = FPS * seconds
    part = path.with_suffix(".part")
    with av.open(str(part), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "18", "preset": "veryfast"}
        for i in range(count):
            image = np.zeros((height, width, 3), np.uint8)
            image[: height // 2] = (200, 170, 140)
            image[height // 2 :] = (70, 70, 70)
            x = (width - face_px) * i // count
            image[height // 10 : height // 10 + face_px, x : x + face_px] = face
            pw, ph = width // 4, width // 18
            px, py = width * 3 // 5, height * 3 // 4
            cv2.rectangle(image, (px, py), (px + pw, py + ph), (255, 255, 255), -1)
            cv2.rectangle(image, (px, py), (px + pw, py + ph), (0, 0, 0), 2)
            cv2.putText(image, "AB 123 CD", (px + pw // 10, py + ph * 3 // 4),
                        cv2.FONT_HERSHEY_SIMPLEX, ph / 45, (0, 0, 0), 2)  # fmt: skip
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")))
        out.mux(stream.encode(None))
    os.replace(part, path)


def floor(src: Path, dst: Path) -> int:
    """Decode, convert to yuv420p and re-encode with redaction's encoder settings."""
    frames = 0
    with av.open(str(src)) as source, av.open(str(dst), "w", format="mp4") as out:
        video = source.streams.video[0]
        video.thread_type = "AUTO"
        stream = out.add_stream("libx264", rate=video.average_rate)
        stream.width, stream.height, stream.pix_fmt = video.width, video.height, "yuv420p"
        stream.options = {"crf": encode.CRF, "preset": redact.PRESET}
        for frame in source.decode(video):
            frame = frame.reformat(format="yuv420p")
            out.mux(stream.encode(frame))
            frames += 1
        out.mux(stream.encode(None))
    return frames


def timed(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=4, help="clip length")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement")
    parser.add_argument(
        "--face-width", type=int, help="faces searched at most this wide (default: redaction's)"
    )
    args = parser.parse_args()
    if args.face_width:
        redact.VIDEO_FACE_WIDTH = args.face_width
    CACHE.mkdir(exist_ok=True)
    print(
        f"redaction vs decode+re-encode floor ({os.cpu_count()} CPUs, x264 preset "
        f"{redact.PRESET} crf {encode.CRF}; detection every {redact.DETECT_EVERY} frames "
        f"(faces at most {redact.VIDEO_FACE_WIDTH} px wide, plates at "
        f"{redact.VIDEO_DETECT_WIDTH}); median of {args.repeat})"
    )
    print(f"{'clip':<12}{'frames':>8}{'floor fps':>12}{'redact fps':>12}{'vs floor':>10}"
          f"{'faces':>7}{'plates':>8}")  # fmt: skip
    for width, height in SIZES:
        clip = CACHE / f"clip-{width}x{height}-{args.seconds}s.mp4"
        if not clip.exists():
            make_clip(clip, width, height, args.seconds)
        out = CACHE / "out.mp4"
        frames = floor(clip, out)
        floor_s = timed(lambda clip=clip, out=out: floor(clip, out), args.repeat)
        reports: list[redact.RedactionReport] = []
        redact_s = timed(
            lambda clip=clip, out=out, seen=reports: seen.append(
                redact.redact_file(clip, out, "video")
            ),
            args.repeat,
        )
        report = reports[-1]
        print(
            f"{width}x{height:<7}{frames:>8}{frames / floor_s:>12.1f}{frames / redact_s:>12.1f}"
            f"{floor_s / redact_s:>9.2f}x{report.faces:>7}{report.plates:>8}"
        )


if __name__ == "__main__":
    main()
