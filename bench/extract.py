"""Track extraction speed: camtel on a big GoPro-style file vs reading it, and vs ExifTool.

The Karma sample's boxes are replicated into a file of about `--mb` megabytes (its mdat
repeated, the gpmd samples repeated and re-indexed), then timed three ways: a plain
sequential read of the whole file (the floor any tool that reads everything pays),
`camtel.media.tracks.extract`, and `exiftool -ee` when installed. Run:
    .venv/bin/python bench/extract.py [--mb 1024] [--fixtures ../shared/fixtures]
"""

from __future__ import annotations

import argparse
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "media"))

import mp4_builder

from camtel.media import isobmff
from camtel.media.tracks import extract, gpmf


def replicate(karma: Path, target_mb: int, out: Path) -> int:
    """A valid MP4 whose mdat is the Karma mdat repeated and whose gpmd track spans it all."""
    with isobmff.Source(karma) as source:
        movie = isobmff.read_movie(source)
        track = gpmf.find_track(movie)
        assert track is not None
        mdat = isobmff.first(movie.top, "mdat")
        assert mdat is not None
        media = source.read(mdat.start, mdat.payload_size)
        samples = [(s.offset - mdat.start, s.size) for s in track.samples]
    copies = max(1, target_mb * 1024 * 1024 // len(media))
    head = mp4_builder.ftyp()
    base = len(head) + 16  # 64-bit mdat header
    offsets, sizes = [], []
    for copy in range(copies):
        for relative, size in samples:
            offsets.append(base + copy * len(media) + relative)
            sizes.append(size)
    with out.open("wb") as handle:
        handle.write(head)
        handle.write(struct.pack(">I4sQ", 1, b"mdat", 16 + copies * len(media)))
        for _ in range(copies):
            handle.write(media)
        trak = co64_trak(sizes, offsets)
        handle.write(mp4_builder.box("moov", mp4_builder.mvhd(None) + trak))
    return out.stat().st_size


def co64_trak(sizes: list[int], offsets: list[int]) -> bytes:
    """Like mp4_builder.trak, with 64-bit chunk offsets for files over 4 GB."""
    trak = mp4_builder.trak("gpmd", "meta", sizes, [0] * len(offsets), 1001)
    stco = mp4_builder.full("stco", struct.pack(">I", len(offsets)) + b"\0" * 4 * len(offsets))
    co64 = mp4_builder.full(
        "co64", struct.pack(">I", len(offsets)) + b"".join(struct.pack(">Q", o) for o in offsets)
    )
    rebuilt = trak.replace(stco, co64)
    growth = len(co64) - len(stco)
    for kind in (b"trak", b"mdia", b"minf", b"stbl"):
        at = rebuilt.find(kind) - 4
        (size,) = struct.unpack_from(">I", rebuilt, at)
        rebuilt = rebuilt[:at] + struct.pack(">I", size + growth) + rebuilt[at + 4 :]
    return rebuilt


def timed(action) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def read_all(path: Path) -> None:
    with path.open("rb") as handle:
        while handle.read(8 << 20):
            pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=1024)
    parser.add_argument("--fixtures", type=Path,
                        default=Path(__file__).resolve().parents[2] / "shared" / "fixtures")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        big = Path(folder) / "karma-replicated.mp4"
        size = replicate(args.fixtures / "gopro_karma.mp4", args.mb, big)
        read_all(big)  # warm the page cache so every row reads from memory
        mb = size / 1e6
        rows = [("plain read (floor)", timed(lambda: read_all(big)))]
        points = []
        rows.append(("camtel extract", timed(lambda: points.append(extract(big)))))
        if shutil.which("exiftool"):
            command = ["exiftool", "-ee", "-n", "-j", "-G3", "-api", "largefilesupport=1",
                       str(big)]
            rows.append(("exiftool -ee", timed(lambda: subprocess.run(
                command, capture_output=True, check=True))))
        print(f"file: {mb:.0f} MB, {len(points[0].points)} points, "
              f"{len(points[0].gsensor)} g-sensor samples")
        print(f"{'tool':<22}{'seconds':>10}{'MB/s':>12}{'vs floor':>10}")
        floor = rows[0][1]
        for name, seconds in rows:
            print(f"{name:<22}{seconds:>10.3f}{mb / seconds:>12.0f}{floor / seconds:>9.3f}x")


if __name__ == "__main__":
    main()
