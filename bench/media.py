"""Media benchmark: upload throughput on loopback (with the server's peak memory), and the
analysis time of a one-minute 1080p clip. Prints tables.

    .venv/bin/python bench/media.py [--size-mb 512] [--repeat 3]

The upload goes through a real `camtel serve` in its own process (multipart, streamed from a
file, encrypted into the local store); the floor is the same bytes POSTed to a bare ASGI
endpoint that only counts them, in the same run. The clip is generated once with PyAV
(H.264, 1920x1080, 30 fps, 60 s) into a temporary folder and cached there.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
CACHE = Path(tempfile.gettempdir()) / "camtel-bench-media"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} never came up")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


FLOOR_APP = '''
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    seen = 0
    while True:
        message = await receive()
        seen += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 201, "headers": []})
    await send({"type": "http.response.body", "body": str(seen).encode()})
'''


def upload(url: str, path: Path, headers: dict[str, str]) -> float:
    started = time.perf_counter()
    with path.open("rb") as file:
        answer = httpx.post(url, headers=headers, files={"file": (path.name, file, "video/mp4")},
                            timeout=600)
    elapsed = time.perf_counter() - started
    if answer.status_code != 201:
        raise SystemExit(f"upload failed: {answer.status_code} {answer.text[:200]}")
    return elapsed


def bench_upload(size_mb: int, repeat: int) -> list[tuple[str, float, float, float]]:
    CACHE.mkdir(exist_ok=True)
    blob = CACHE / f"blob-{size_mb}.mp4"
    if not blob.exists() or blob.stat().st_size != size_mb * 2**20:
        with blob.open("wb") as out:
            for _ in range(size_mb):
                out.write(os.urandom(2**20))
    rows = []
    with tempfile.TemporaryDirectory() as data:
        port = free_port()
        env = os.environ | {"CAMTEL_DATA_DIR": data, "CAMTEL_HTTP_PORT": str(port),
                            "CAMTEL_JT808_PORT": "0", "CAMTEL_TELTONIKA_PORT": "0",
                            "CAMTEL_OSMAND_PORT": "0", "CAMTEL_LOG_LEVEL": "WARNING",
                            "CAMTEL_DATABASE_URL": ""}
        password = "bench " + secrets.token_hex(8)
        subprocess.run([sys.executable, "-m", "camtel", "user", "create", "--email",
                        "bench@example.com", "--phone", "+4915123456789", "--password",
                        password], env=env, check=True, capture_output=True)
        server = subprocess.Popen([sys.executable, "-m", "camtel", "serve"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_ready(f"{base}/healthz")
            token = httpx.post(f"{base}/api/v1/auth/token", json={
                "email": "bench@example.com", "password": password}).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            times = [upload(f"{base}/api/v1/media", blob, headers) for _ in range(repeat)]
            rows.append(("camtel (encrypt + store)", size_mb / statistics.median(times),
                         statistics.median(times), peak_rss_mb(server.pid)))
        finally:
            server.terminate()
            server.wait(30)
    floor_file = CACHE / "floor_app.py"
    floor_file.write_text(FLOOR_APP)
    port = free_port()
    floor = subprocess.Popen([sys.executable, "-m", "uvicorn", "--app-dir", str(CACHE),
                              "floor_app:app", "--port", str(port), "--log-level", "warning"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(f"http://127.0.0.1:{port}/")
        times = [upload(f"http://127.0.0.1:{port}/", blob, {}) for _ in range(repeat)]
        rows.append(("floor (count bytes)", size_mb / statistics.median(times),
                     statistics.median(times), peak_rss_mb(floor.pid)))
    finally:
        floor.terminate()
        floor.wait(30)
    return rows


def make_clip(path: Path, seconds: int = 60) -> None:
    import av
    import numpy as np

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 1920, 1080, "yuv420p"
        stream.options = {"preset": "ultrafast", "g": "60"}
        base = np.random.default_rng(1).integers(0, 255, (1080, 1920, 3), dtype=np.uint8)
        for n in range(seconds * 30):
            frame = av.VideoFrame.from_ndarray(np.roll(base, n * 8, axis=1), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def bench_analysis(repeat: int) -> list[tuple[str, float]]:
    from camtel.media.analysis import extract_track, probe_file

    CACHE.mkdir(exist_ok=True)
    clip = CACHE / "clip-1080p-60s.mp4"
    if not clip.exists():
        print("generating a 60 s 1080p clip (once)...", file=sys.stderr)
        make_clip(clip)
    probes, tracks = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        report = probe_file(str(clip), "video/mp4")
        probes.append(time.perf_counter() - started)
        assert report.failure is None and report.thumbnail, report.failure
        started = time.perf_counter()
        extract_track(str(clip))
        tracks.append(time.perf_counter() - started)
    total = statistics.median(p + t for p, t in zip(probes, tracks, strict=True))
    return [("probe + thumbnail", statistics.median(probes)),
            ("embedded track + g-sensor peaks", statistics.median(tracks)),
            ("whole analysis", total)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"Upload of {args.size_mb} MB over loopback (median of {args.repeat})")
    for column in ("server", "MB/s", "seconds", "peak RSS MB"):
        table.add_column(column)
    rows = bench_upload(args.size_mb, args.repeat)
    for name, rate, seconds, rss in rows:
        table.add_row(name, f"{rate:.0f}", f"{seconds:.2f}", f"{rss:.0f}")
    console.print(table)
    console.print(f"camtel / floor: {rows[0][1] / rows[1][1]:.2f}")
    table = Table(title=f"Analysis of a 60 s 1080p H.264 clip (median of {args.repeat})")
    table.add_column("step")
    table.add_column("seconds")
    for name, seconds in bench_analysis(args.repeat):
        table.add_row(name, f"{seconds:.3f}")
    console.print(table)


if __name__ == "__main__":
    main()
