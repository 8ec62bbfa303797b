"""Fuzz one of camtel's parsers with atheris (libFuzzer, coverage-guided) for a time budget.

    .venv/bin/python fuzz/run.py jt808 --seconds 60
    make fuzz FUZZ_SECONDS=600          # every target in turn

The corpus starts from real device messages and real recordings (tests/data) and grows in
`fuzz/corpus/<target>/` (not committed). An input that breaks a target is written to
`fuzz/crashes/<target>/`; copy it into `tests/data/fuzz/<target>/` with the fix, and
`tests/test_fuzz.py` replays it on every run from then on. Exit status 0: nothing found.
"""

from __future__ import annotations

import argparse
import io
import sys
from fractions import Fraction
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DATA = REPO / "tests" / "data"
sys.path.insert(0, str(HERE))

if __name__ == "__main__":
    # Only camtel's own code is instrumented for coverage: instrumenting every loaded module
    # (atheris.instrument_all) cost 12 s of a 2 s run, most of it in numpy and the stdlib.
    import atheris

    with atheris.instrument_imports(include=["camtel"]):
        from targets import TARGETS  # this folder is not a package: sys.path above
else:
    from targets import TARGETS


def _vectors(name: str) -> list[bytes]:
    """The messages of a vectors file (hex for the binary protocols, the request for OsmAnd)."""
    out = []
    for line in (DATA / "vectors" / f"{name}.tsv").read_text().splitlines():
        message = line.split("\t", 1)[0].strip()
        if not message:
            continue
        try:
            out.append(bytes.fromhex(message))
        except ValueError:
            method, _, rest = message.partition(" ")
            target, _, body = rest.partition(" ")
            if method == "GET":
                out.append(b"\x01" + target.partition("?")[2].encode())
            else:
                out.append(b"\x00" + body.encode())
    return out


def _teltonika_stream() -> list[bytes]:
    """A device's stream: the IMEI handshake, then each recorded packet."""
    packets = _vectors("teltonika")
    handshakes = [p for p in packets if len(p) < 20]
    data = [p for p in packets if len(p) >= 20]
    return [(handshakes[0] if handshakes else b"") + p for p in data] + handshakes


def _small_mp4() -> bytes:
    """A few frames of real MP4, made with PyAV (the recordings in tests/data are megabytes)."""
    import av

    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=5)
        stream.width, stream.height = 32, 32
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, 5)
        for index in range(3):
            frame = av.VideoFrame(32, 32, "yuv420p")
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def seeds(target: str) -> list[bytes]:
    if target == "jt808":
        return _vectors("jt808")
    if target == "teltonika":
        return _teltonika_stream()
    if target == "osmand":
        return _vectors("osmand")
    if target == "mp4_boxes":
        return [_small_mp4()]
    if target == "gps_tracks":
        gpmf = (DATA / "fixtures" / "gopro_hero11_gpmf.raw").read_bytes()
        nmea = b"$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A\r\n"
        return [gpmf[:16384], nmea * 4, _small_mp4()]
    raise SystemExit(f"unknown target {target!r}; one of {', '.join(TARGETS)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("target", choices=sorted(TARGETS))
    parser.add_argument("--seconds", type=int, default=60, help="time budget")
    parser.add_argument("--max-len", type=int, default=65536, help="largest input tried")
    args = parser.parse_args()

    corpus = HERE / "corpus" / args.target
    crashes = HERE / "crashes" / args.target
    corpus.mkdir(parents=True, exist_ok=True)
    crashes.mkdir(parents=True, exist_ok=True)
    for number, seed in enumerate(seeds(args.target)):
        (corpus / f"seed-{number:03d}").write_bytes(seed)
    target = TARGETS[args.target]

    def one_input(data: bytes) -> None:
        target(data)

    atheris.Setup(
        [
            sys.argv[0],
            str(corpus),
            f"-max_total_time={args.seconds}",
            f"-max_len={args.max_len}",
            "-timeout=10",  # a single input taking longer is a finding too (a hang)
            "-rss_limit_mb=2048",
            f"-artifact_prefix={crashes}/",
            "-print_final_stats=1",
        ],
        one_input,
    )
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
