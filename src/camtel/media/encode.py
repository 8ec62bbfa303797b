"""Writing H.264 copies of videos: frames turned upright with clean times, in a fast-start MP4.

Shared by the two kinds of copy camtel makes in the background: the redacted copy of a shared
recording (camtel.media.redact, no sound) and the browser-playable copy of a recording whose
codec browsers cannot decode (camtel.media.transcode, with its sound as AAC).
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

CRF, PRESET = "23", "veryfast"


@dataclasses.dataclass(slots=True)
class Picture:
    """One decoded frame as yuv420p planes (rotated upright), with its time."""

    data: np.ndarray  # (height * 3 / 2, width), the layout PyAV uses for yuv420p
    pts: int


def planes(data: np.ndarray, width: int, height: int) -> tuple[np.ndarray, ...]:
    """Views of Y, U and V in a yuv420p array."""
    flat = data.reshape(-1)
    y_size, c_size = width * height, (width // 2) * (height // 2)
    return (
        flat[:y_size].reshape(height, width),
        flat[y_size : y_size + c_size].reshape(height // 2, width // 2),
        flat[y_size + c_size : y_size + 2 * c_size].reshape(height // 2, width // 2),
    )


def join(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.concatenate([y.reshape(-1), u.reshape(-1), v.reshape(-1)]).reshape(-1, y.shape[1])


def upright(data: np.ndarray, width: int, height: int, rotation: int) -> np.ndarray:
    """The frame turned as its display matrix says (the output carries no such matrix)."""
    turns = round(rotation / 90) % 4  # counter-clockwise quarter turns
    if turns == 0:
        return data
    return join(*(np.rot90(plane, turns) for plane in planes(data, width, height)))


class Frames:
    """Decoded frames of one video stream as upright yuv420p pictures whose times start at 0
    and always increase (dash cams write missing and repeated times).

    The first frame fixes the output size: `width`, `height` (even, turned as the frame's
    display matrix says). `error` is the exception raised for frames too small to encode."""

    def __init__(self, stream: Any, *, error: type[Exception]) -> None:
        self.time_base: Fraction = stream.time_base or Fraction(1, 90_000)
        self.rate: Fraction = stream.average_rate or stream.guessed_rate or Fraction(30)
        self.step = max(1, round(1 / (self.rate * self.time_base)))  # one frame, in time base
        self.error = error
        self.width = self.height = 0
        self._in: tuple[int, int, int] | None = None  # width, height, rotation of the input
        self._first: int | None = None
        self._last: int | None = None

    def picture(self, frame: Any) -> Picture:
        if self._in is None:
            rotation = frame.rotation or 0
            # yuv420p needs even sizes: an odd last row or column is scaled away
            in_w, in_h = frame.width // 2 * 2, frame.height // 2 * 2
            if in_w == 0 or in_h == 0:
                raise self.error("the video frames are too small")
            self._in = (in_w, in_h, rotation)
            turned = round(rotation / 90) % 2
            self.width, self.height = (in_h, in_w) if turned else (in_w, in_h)
        in_w, in_h, rotation = self._in
        pts = frame.pts if frame.pts is not None else (self._last or 0) + self.step
        if self._first is None:
            self._first = pts
        pts -= self._first
        if self._last is not None and pts <= self._last:
            pts = self._last + self.step  # missing or repeated times: keep them increasing
        self._last = pts
        data = frame.reformat(width=in_w, height=in_h, format="yuv420p").to_ndarray()
        return Picture(upright(data, in_w, in_h, rotation), pts)


class Mp4Writer:
    """The output: H.264 yuv420p frames with the source's times, and optionally AAC sound, in
    a fast-start MP4 with no metadata at all."""

    def __init__(
        self,
        path: Path,
        *,
        width: int,
        height: int,
        rate: Fraction,
        time_base: Fraction,
        sound: tuple[int, str] | None = None,
        preset: str = PRESET,
    ) -> None:
        """`sound` is (sample rate, channel layout) for an AAC track, or None for none;
        `preset` is x264's speed (tests choose its fastest)."""
        import av

        self.width, self.height, self.time_base = width, height, time_base
        self.frames = 0
        self._container = av.open(
            # bitexact: not even an encoder tag, so the file has no metadata box at all
            str(path),
            "w",
            format="mp4",
            options={"movflags": "+faststart", "fflags": "+bitexact"},
        )
        self._stream = self._container.add_stream("libx264", rate=rate)
        self._stream.width, self._stream.height, self._stream.pix_fmt = width, height, "yuv420p"
        self._stream.time_base = self._stream.codec_context.time_base = time_base
        self._stream.options = {"crf": CRF, "preset": preset}
        self._sound: Any = None
        self._resampler: Any = None
        if sound is not None:
            sample_rate, layout = sound
            self._sound = self._container.add_stream("aac", rate=sample_rate)
            self._sound.layout = layout
            self._resampler = av.AudioResampler(format="fltp", layout=layout, rate=sample_rate)

    def write(self, picture: Picture) -> None:
        import av

        frame = av.VideoFrame.from_ndarray(picture.data, format="yuv420p")
        frame.pts, frame.time_base = picture.pts, self.time_base
        self._container.mux(self._stream.encode(frame))
        self.frames += 1

    def write_sound(self, frame: Any) -> None:
        """One decoded audio frame; the encoder numbers the samples from the start."""
        if self._sound is None:
            return
        frame.pts = None
        for ready in self._resampler.resample(frame):
            ready.pts = None
            self._container.mux(self._sound.encode(ready))

    def finish(self) -> None:
        self._container.mux(self._stream.encode(None))
        if self._sound is not None:
            for ready in self._resampler.resample(None):
                ready.pts = None
                self._container.mux(self._sound.encode(ready))
            self._container.mux(self._sound.encode(None))

    def close(self) -> None:
        self._container.close()
