"""Track extraction speed: camtel on a big GoPro-style file vs reading it, and vs ExifTool.

The Karma sample's boxes are replicated into a file of about `--mb` megabytes (its mdat
repeated, the gpmd samples repeated and re-indexed), then timed three ways: a plain
sequential read of the whole file (the floor any tool that reads everything pays),
`camtel.media.tracks.extract`, and `exiftool -ee` when installed.

`--cli` times the command as a person runs it instead: `camtel extract` on one file (wall
clock, a fresh process each time, against `python -c pass` as the floor), and on a batch of
40 dash-cam files of four makes (the Karma sample, and Novatek, 70mai and BlackVue files
built to their layouts) against `exiftool -ee` on the same 40. Run:
    .venv/bin/python bench/extract.py [--mb 1024] [--fixtures tests/data/fixtures]
    .venv/bin/python bench/extract.py --cli [--repeat 7]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
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


def batch(karma: Path, folder: Path) -> list[Path]:
    """40 recordings of four makes, 10 each, with 60 one-second fixes (Karma: its own)."""
    from datetime import UTC, datetime, timedelta

    start = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)
    files = []
    for n in range(10):
        fixes = [
            mp4_builder.Fix(start + timedelta(seconds=i), 52.52 + n * 1e-3 + i * 1e-5,
                            13.40 + i * 2e-5, 50.0, float(i % 360))
            for i in range(60)
        ]
        made = {
            f"karma-{n}.mp4": karma.read_bytes(),
            f"novatek-{n}.MP4": mp4_builder.novatek_mp4(
                [mp4_builder.classic_block(f) for f in fixes], True),
            f"70mai-{n}.MP4": mp4_builder.seventymai_mp4(fixes, start),
            f"blackvue-{n}.mp4": mp4_builder.blackvue_mp4(fixes)[0],
        }
        for name, data in made.items():
            (folder / name).write_bytes(data)
            files.append(folder / name)
    return files


def wall(command: list[str], repeat: int) -> float:
    """Median wall-clock seconds of a fresh process running `command`."""
    times = []
    for _ in range(repeat):
        times.append(timed(lambda: subprocess.run(command, capture_output=True, check=True)))
    return statistics.median(times)


def cli(fixtures: Path, repeat: int) -> None:
    camtel = str(Path(sys.executable).with_name("camtel"))
    with tempfile.TemporaryDirectory() as folder:
        files = batch(fixtures / "gopro_karma.mp4", Path(folder))
        names = [str(f) for f in files]
        out = str(Path(folder) / "out.gpx")
        rows = [
            ("python -c pass (floor)", "1", wall([sys.executable, "-c", "pass"], repeat)),
            ("camtel extract", "1", wall([camtel, "extract", names[0], "-o", out], repeat)),
            ("camtel extract", "40", wall([camtel, "extract", *names, "-o", out], repeat)),
        ]
        if shutil.which("exiftool"):
            rows.append(("exiftool -ee", "1", wall(["exiftool", "-ee", "-n", "-j", names[0]],
                                                   repeat)))
            rows.append(("exiftool -ee", "40", wall(["exiftool", "-ee", "-n", "-j", *names],
                                                    repeat)))
    print(f"median of {repeat} runs, wall clock")
    print(f"{'command':<24}{'files':>6}{'seconds':>10}")
    for name, count, seconds in rows:
        print(f"{name:<24}{count:>6}{seconds:>10.3f}")
    if len(rows) == 5:
        print(f"exiftool / camtel, 40 files: {rows[4][2] / rows[2][2]:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=1024)
    parser.add_argument("--fixtures", type=Path,
                        default=Path(__file__).resolve().parents[1] / "tests" / "data" / "fixtures")
    parser.add_argument("--cli", action="store_true", help="time the command, not the parser")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    if args.cli:
        cli(args.fixtures, args.repeat)
        return
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
