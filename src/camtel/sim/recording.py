"""A simulated dash cam recording: H.264 video of a drive with its GPS and G-sensor track
embedded the way Novatek-family cameras write it (a `freeGPS ` block a second, type 3 layout,
indexed by `moov/gps `), so that the player can show the map and the video on one clock.

The video is drawn, not filmed: a road running towards the horizon, lane marks moving at the
vehicle's speed, and the camera's own caption (time, speed, position) burnt in, as dash cams do.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Sequence
from fractions import Fraction
from typing import TYPE_CHECKING

from camtel.sim.routes import RoutePoint

if TYPE_CHECKING:  # numpy is imported where frames are drawn
    from datetime import datetime

    import numpy as np
    import numpy.typing as npt

#: One block per second, as the cameras write them; a type 3 record fits in 256 bytes.
BLOCK_SIZE = 0x100
KNOTS_PER_KMH = 1 / 1.852


def _ddmm(degrees: float) -> float:
    whole = int(abs(degrees))
    return whole * 100 + (abs(degrees) - whole) * 60


def gps_block(point: RoutePoint, accel_g: tuple[float, float, float]) -> bytes:
    """One Novatek `freeGPS ` block in the type 3 layout (Viofo A119 v3, Kenwood)."""
    t = point.time
    body = struct.pack("<6I", t.hour, t.minute, t.second, t.year - 2000, t.month, t.day)
    body += b"A" + (b"N" if point.latitude >= 0 else b"S")
    body += (b"E" if point.longitude >= 0 else b"W") + b"\0"
    body += struct.pack(
        "<4f",
        _ddmm(point.latitude),
        _ddmm(point.longitude),
        point.speed_kmh * KNOTS_PER_KMH,
        point.course,
    )
    body += struct.pack("<3i", *(round(a * 256) for a in accel_g))
    head = struct.pack(">I", BLOCK_SIZE) + b"freeGPS " + struct.pack("<I", 0x3F0)
    return (head + body).ljust(BLOCK_SIZE, b"\0")


def accelerations(points: Sequence[RoutePoint]) -> list[tuple[float, float, float]]:
    """The G-sensor a second: gravity on z, braking and speeding up on y (from the speeds)."""
    samples = []
    for before, after in zip(points, [*points[1:], points[-1]], strict=True):
        dv = (after.speed_kmh - before.speed_kmh) / 3.6  # m/s over one second
        samples.append((0.0, round(-dv / 9.81, 3), 1.0))
    return samples


def _frame(width: int, height: int, point: RoutePoint, travelled_m: float) -> npt.NDArray[np.uint8]:
    """One video frame: sky, road, lane marks placed by the distance travelled, caption."""
    import cv2
    import numpy as np

    image = np.empty((height, width, 3), np.uint8)
    horizon = height * 2 // 5
    image[:horizon] = (235, 206, 135)  # BGR sky
    image[horizon:] = (96, 140, 90)  # verges
    road = np.array(
        [
            [width * 0.46, horizon],
            [width * 0.54, horizon],
            [width * 0.95, height],
            [width * 0.05, height],
        ],
        np.int32,
    )
    cv2.fillPoly(image, [road], (70, 70, 70))
    # Lane marks every 12 m, seen in perspective: depth z maps to screen row horizon + k / z.
    k = (height - horizon) * 4.0
    phase = travelled_m % 12.0
    for n in range(1, 12):
        near, far = 4.0 + n * 12.0 - phase, 4.0 + n * 12.0 - phase + 5.0
        if near <= 4.0:
            continue
        y1, y2 = int(horizon + k / far), int(horizon + k / near)
        cv2.line(image, (width // 2, y1), (width // 2, min(y2, height - 1)), (240, 240, 240), 3)
    caption = (
        f"{point.time:%Y-%m-%d %H:%M:%S}  {point.speed_kmh:5.1f} km/h  "
        f"{point.latitude:.5f} {point.longitude:.5f}"
    )
    cv2.rectangle(image, (0, height - 26), (width, height), (0, 0, 0), -1)
    cv2.putText(
        image, caption, (8, height - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1,
        cv2.LINE_AA,
    )
    return image


def _video(points: Sequence[RoutePoint], fps: int, size: tuple[int, int]) -> bytes:
    """H.264 MP4 of the drive, one second of video for each point."""
    import av

    width, height = size
    out = io.BytesIO()
    travelled = 0.0
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, fps)
        stream.options = {"preset": "veryfast", "crf": "30", "g": str(fps * 2)}
        index = 0
        for before, after in zip(points, [*points[1:], points[-1]], strict=True):
            for step in range(fps):
                share = step / fps
                speed = before.speed_kmh + (after.speed_kmh - before.speed_kmh) * share
                travelled += speed / 3.6 / fps
                image = _frame(width, height, before, travelled)
                frame = av.VideoFrame.from_ndarray(image, "bgr24")
                frame.pts = index
                index += 1
                for packet in stream.encode(frame):
                    container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def _boxes(data: bytes) -> list[tuple[str, int, int]]:
    """Top-level (type, start, size) boxes of an MP4."""
    found, at = [], 0
    while at + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, at)
        if size == 1:
            size = struct.unpack_from(">Q", data, at + 8)[0]
        elif size == 0:
            size = len(data) - at
        found.append((kind.decode("latin-1"), at, size))
        at += size
    return found


def dashcam_recording(
    points: Sequence[RoutePoint], *, fps: int = 15, size: tuple[int, int] = (640, 360)
) -> bytes:
    """A browser-playable MP4 of `points` (one a second) with their Novatek GPS track.

    The muxer writes the media data and then the movie box; the GPS blocks are appended to the
    media data (where the cameras write them, and where ExifTool looks) without moving any
    video sample, and the movie box gains their `gps ` index: [ftyp][mdat: video, freeGPS
    blocks][moov: ..., gps ].
    """
    if not points:
        raise ValueError("a recording needs at least one point")
    video = _video(points, fps, size)
    boxes = {kind: (at, length) for kind, at, length in _boxes(video)}
    if "mdat" not in boxes or "moov" not in boxes or boxes["moov"][0] < boxes["mdat"][0]:
        raise ValueError("the muxer did not write the movie box after the media data")
    mdat_at, mdat_size = boxes["mdat"]
    moov_at, moov_size = boxes["moov"]
    blocks = [gps_block(p, a) for p, a in zip(points, accelerations(points), strict=True)]
    first_block = mdat_at + mdat_size
    grown = mdat_size + len(blocks) * BLOCK_SIZE
    if struct.unpack_from(">I", video, mdat_at)[0] == 1:  # 64-bit size
        mdat_head = struct.pack(">I4sQ", 1, b"mdat", grown)
    else:
        mdat_head = struct.pack(">I4s", grown, b"mdat")
    payload = video[mdat_at + len(mdat_head) : mdat_at + mdat_size]
    count = len(blocks)
    index = struct.pack(">I4sII", 16 + 8 * count, b"gps ", 0x00000101, count)
    index += b"".join(
        struct.pack(">II", first_block + n * BLOCK_SIZE, BLOCK_SIZE) for n in range(count)
    )
    moov = struct.pack(">I", moov_size + len(index)) + video[moov_at + 4 : moov_at + moov_size]
    return (
        video[:mdat_at]
        + mdat_head
        + payload
        + b"".join(blocks)
        + video[mdat_at + mdat_size : moov_at]
        + moov
        + index
        + video[moov_at + moov_size :]
    )


def demo_drive_points(seed: int, start: datetime, seconds: int) -> list[RoutePoint]:
    """A `seconds`-long stretch of a simulated drive that is moving (skipping a parked start)."""
    from camtel.sim.routes import route_points

    points = route_points(seed, start, 1.0, seconds + 120)
    moving = next((i for i, p in enumerate(points) if p.speed_kmh > 20), 0)
    chosen = points[moving : moving + seconds]
    return chosen if len(chosen) == seconds else points[:seconds]


def hard_brake(points: list[RoutePoint], at: int) -> list[RoutePoint]:
    """The same drive with a hard stop from second `at` (about 0.85 g, a G-sensor event on the
    timeline): the vehicle sheds 30 km/h a second and then stands where it stopped."""
    from dataclasses import replace

    if not 0 < at < len(points):
        return points
    changed = list(points[:at])
    speed, stop = points[at - 1].speed_kmh, points[at]
    for later in points[at:]:
        speed = max(0.0, speed - 30.0)
        changed.append(replace(stop, time=later.time, speed_kmh=speed))
    return changed
