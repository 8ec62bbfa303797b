"""CenterFace, a small face-detection network, run by OpenCV's DNN module on the packaged model.

The network sees the image (RGB, 0-255, padded to multiples of 32) and answers, for every 4x4
cell, how likely a face centre is there (the heatmap), the face's size (log of height and width
over 4) and the centre's offset within the cell. `decode` turns those maps into boxes and is
pure; `Network` runs images. The weights and their origin are in `weights/` beside this file.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from camtel.media.redact_boxes import Box

MODEL = Path(__file__).with_name("weights") / "centerface.onnx"
INPUT = "input.1"
OUTPUTS = ("537", "538", "539")  # heatmap, log size, offset (the landmarks, "540", go unused)
STRIDE = 4  # input pixels per output cell
MULTIPLE = 32  # the network halves the image five times
# Heatmap score for a face: at 1080p 78 % of bench/faces.py's faces, 0.05 false finds a frame
# (0.1 finds 82 % but 0.57 false finds a frame; docs/performance.md).
THRESHOLD = 0.2
OVERLAP = 0.3  # intersection over union above which two finds are one face


def load(path: Path = MODEL) -> Any:
    """A network ready to run at one input size; raises OSError when the model file is missing."""
    return cv2.dnn.readNetFromONNX(np.frombuffer(path.read_bytes(), np.uint8))


def blob(image: np.ndarray) -> np.ndarray:
    """The network's input for a BGR or greyscale image: 1x3xHxW RGB, padded to multiples of 32.

    Padding (black, right and bottom) rather than stretching keeps the output in the image's
    own pixels.
    """
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    height, width = image.shape[:2]
    bottom = -height % MULTIPLE
    right = -width % MULTIPLE
    if bottom or right:
        image = cv2.copyMakeBorder(image, 0, bottom, 0, right, cv2.BORDER_CONSTANT, value=0)
    return cv2.dnn.blobFromImage(image, scalefactor=1.0, swapRB=True)


def decode(
    heatmap: np.ndarray,
    log_size: np.ndarray,
    offset: np.ndarray,
    *,
    width: int,
    height: int,
    threshold: float = THRESHOLD,
    overlap: float = OVERLAP,
) -> list[tuple[Box, float]]:
    """Faces and their scores from the network's maps (each 1xCxhxw), inside a width x height image.

    Each cell scoring above `threshold` is a face centred at (cell + offset + 0.5) * STRIDE and
    exp(log size) * STRIDE big; overlapping finds of one face are reduced to the best-scoring.
    """
    rows, cols = np.nonzero(heatmap[0, 0] > threshold)
    if rows.size == 0:
        return []
    scores = heatmap[0, 0, rows, cols].astype(float)
    box_h = np.exp(log_size[0, 0, rows, cols]) * STRIDE
    box_w = np.exp(log_size[0, 1, rows, cols]) * STRIDE
    centre_y = (rows + offset[0, 0, rows, cols] + 0.5) * STRIDE
    centre_x = (cols + offset[0, 1, rows, cols] + 0.5) * STRIDE
    x0 = np.clip(centre_x - box_w / 2, 0, width)
    y0 = np.clip(centre_y - box_h / 2, 0, height)
    x1 = np.clip(centre_x + box_w / 2, 0, width)
    y1 = np.clip(centre_y + box_h / 2, 0, height)
    rects = [
        (float(a), float(b), float(c - a), float(d - b))
        for a, b, c, d in zip(x0, y0, x1, y1, strict=True)
    ]
    keep = cv2.dnn.NMSBoxes(rects, scores.tolist(), threshold, overlap)
    out = []
    for i in np.asarray(keep, dtype=int).reshape(-1):
        left, top = math.floor(x0[i]), math.floor(y0[i])
        right, bottom = math.ceil(x1[i]), math.ceil(y1[i])
        if right > left and bottom > top:
            out.append((Box(left, top, right - left, bottom - top, "face"), float(scores[i])))
    return out


class Network:
    """CenterFace for a process: one forward pass at a time, which OpenCV spreads over the cores.

    One Net per input size: OpenCV 4.14's DNN module answers wrongly when a Net that ran at one
    size runs at another (a face found where there is none; tests/media/test_detect_dnn.py).
    A Net holds its buffers, about 0.5 GB at 1080p, so the process shares its few (a video has
    one size) rather than each detection thread keeping its own.
    """

    KEEP = 2  # input sizes kept: the video being redacted, and a photo

    def __init__(self, path: Path | None = None) -> None:
        data = (path or MODEL).read_bytes()  # OSError when missing
        self._model = np.frombuffer(data, np.uint8)
        self._nets: dict[tuple[int, ...], Any] = {}
        self._lock = threading.Lock()

    def faces(self, image: np.ndarray, *, threshold: float = THRESHOLD) -> list[Box]:
        """Faces in a BGR or greyscale image, in its pixels."""
        data = blob(image)
        with self._lock:
            net = self._nets.pop(data.shape, None)
            if net is None:
                net = cv2.dnn.readNetFromONNX(self._model)
            self._nets[data.shape] = net  # the most recent last
            while len(self._nets) > self.KEEP:
                del self._nets[next(iter(self._nets))]
            net.setInput(data, INPUT)
            heatmap, log_size, offset = net.forward(list(OUTPUTS))
            height, width = image.shape[:2]  # decoded under the lock: the maps are the Net's
            found = decode(
                heatmap, log_size, offset, width=width, height=height, threshold=threshold
            )
        return [box for box, _ in found]
