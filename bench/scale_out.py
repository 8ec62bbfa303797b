"""camtel as separate processes (`camtel serve --role gateway|worker`) over PostgreSQL and NATS
JetStream, against one process on SQLite in the same run.

For each layout (gateways x workers) a fresh PostgreSQL database and JetStream stream are
made, N registered JT/T 808 terminals (one polygon fence over their area) connect to the
gateways (spread evenly), each sends its reports back to back with up to 16 unacknowledged,
and the bench reports: acknowledged reports a second (a gateway acknowledges once JetStream
stored the report), stored reports a second (until the last row is in PostgreSQL), the lag
of the last row behind the last acknowledgement, ack p50/p99, and the CPU of every camtel
process a report. The single-process SQLite figure comes from `bench/ingest.py`'s server.

    .venv/bin/python bench/scale_out.py --layouts 1x1,2x2 --devices 100 --reports 50000 \\
        --postgres postgresql://postgres@127.0.0.1:5432/postgres

Needs NATS with JetStream at --nats (default nats://127.0.0.1:4222).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import terminals

ROOT = Path(__file__).resolve().parents[1]
FENCE = {"type": "Polygon", "coordinates": [[[113.9, 22.4], [114.3, 22.4], [114.3, 22.9],
                                             [113.9, 22.9], [113.9, 22.4]]]}
WINDOW = 16


def _phones(devices: int) -> list[str]:
    return [f"0139{n:08d}" for n in range(devices)]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _seed(url: str, devices: int) -> None:
    from camtel.accounts.models import Organization
    from camtel.db import migrate
    from camtel.db.engine import Database
    from camtel.devices.models import Device
    from camtel.geofences.models import Geofence

    migrate.upgrade(url)
    database = Database(url)
    async with database.session() as db:
        org = Organization(name="Bench")
        db.add(org)
        await db.flush()
        db.add_all(Device(organization_id=org.id, name=p, unique_id=p, protocol="jt808")
                   for p in _phones(devices))
        db.add(Geofence(organization_id=org.id, name="Depot region", kind="polygon",
                        geometry=FENCE, breach_on="exit", updated_at=datetime.now(UTC)))
    await database.dispose()


async def _rows(url: str) -> int:
    from sqlalchemy import func, select

    from camtel.db.engine import Database
    from camtel.devices.models import Position

    database = Database(url)
    try:
        async with database.session() as db:
            return await db.scalar(select(func.count()).select_from(Position)) or 0
    finally:
        await database.dispose()


async def _reachable(port: int) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing listens on {port}") from None
            await asyncio.sleep(0.2)


async def layout(gateways: int, workers: int, devices: int, reports: int, admin_url: str,
                 nats: str, folder: Path) -> dict[str, float]:
    import psycopg

    from camtel.config import Settings

    name = f"camtel_scale_{secrets.token_hex(4)}"
    suffix = secrets.token_hex(4)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    database_url = f"{admin_url.rsplit('/', 1)[0]}/{name}"
    url = Settings(database_url=database_url).sqlalchemy_url
    processes: list[subprocess.Popen[bytes]] = []
    try:
        await _seed(url, devices)
        ports = [_free_port() for _ in range(gateways)]
        env = {**os.environ, "CAMTEL_DATABASE_URL": database_url,
               "CAMTEL_BUS_URL": f"{nats}/CAMTEL_SCALE_{suffix}?subject=camtel.scale{suffix}",
               "CAMTEL_TELTONIKA_PORT": "0", "CAMTEL_OSMAND_PORT": "0",
               "CAMTEL_LOG_LEVEL": "WARNING"}

        def start(role: str, n: int, port: int = 0) -> subprocess.Popen[bytes]:
            data = folder / f"{name}-{role}-{n}"
            data.mkdir()
            return subprocess.Popen(
                [sys.executable, "-m", "camtel", "serve", "--role", role],
                env={**env, "CAMTEL_DATA_DIR": str(data), "CAMTEL_JT808_PORT": str(port),
                     "CAMTEL_HTTP_PORT": str(_free_port())})

        processes += [start("worker", n) for n in range(workers)]
        processes += [start("gateway", n, port) for n, port in enumerate(ports)]
        for port in ports:
            await _reachable(port)
        each = reports // devices
        plans = [terminals.plan(p, each, 1) for p in _phones(devices)]
        clients = [terminals.Terminal(p) for p in plans]
        for n, client in enumerate(clients):
            await client.connect(ports[n % gateways])
        cpu_before = sum(_cpu_seconds(p.pid) for p in processes)
        began = time.perf_counter()
        await asyncio.gather(*(c.run(WINDOW) for c in clients))
        acked_at = time.perf_counter()
        total = sum(p.reports for p in plans)
        while await _rows(url) < total:
            if time.perf_counter() - acked_at > 300:
                raise RuntimeError("acknowledged reports did not all reach the database")
            await asyncio.sleep(0.05)
        stored_at = time.perf_counter()
        cpu = sum(_cpu_seconds(p.pid) for p in processes) - cpu_before
        for client in clients:
            client.close()
        latencies = sorted(x for c in clients for x in c.latencies)
        return {
            "acked": total / (acked_at - began),
            "stored": total / (stored_at - began),
            "lag_s": stored_at - acked_at,
            "p50_ms": statistics.median(latencies) * 1000,
            "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
            "cpu_us": cpu / total * 1e6,
        }
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await _drop_stream(nats, f"CAMTEL_SCALE_{suffix}")


async def _drop_stream(nats_url: str, stream: str) -> None:
    import contextlib

    import nats

    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        with contextlib.suppress(Exception):
            await js.delete_stream(stream)
        with contextlib.suppress(Exception):
            await js.delete_key_value(f"{stream}_leases")
    finally:
        await nc.close()


def main() -> None:
    import tempfile

    import uvloop

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layouts", default="1x1,2x2", help="gateways x workers, comma-separated")
    parser.add_argument("--devices", type=int, default=100)
    parser.add_argument("--reports", type=int, default=50_000)
    parser.add_argument("--postgres", required=True, metavar="ADMIN_URL")
    parser.add_argument("--nats", default="nats://127.0.0.1:4222")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "bench"))
    import ingest

    single = ingest.measure("camtel", args.devices, "pipe", args.reports, 500)
    print(f"JT/T 808, {args.devices} terminals x {args.reports // args.devices} reports, "
          f"window {WINDOW}, one polygon fence; nproc {os.cpu_count()}")
    print("| layout | store | acked/s | stored/s | last row after last ack s | ack p50/p99 ms "
          "| CPU µs/report (all camtel processes) |")
    print("|---|---|---:|---:|---:|---:|---:|")
    print(f"| 1 process | SQLite | {single['rate']:,.0f} | {single['rate']:,.0f} | 0 | "
          f"{single['p50_ms']:.1f} / {single['p99_ms']:.1f} | {single['cpu_us']:.0f} |",
          flush=True)
    uvloop.install()
    with tempfile.TemporaryDirectory() as folder:
        for shape in args.layouts.split(","):
            gateways, workers = (int(x) for x in shape.split("x"))
            got = asyncio.run(layout(gateways, workers, args.devices, args.reports,
                                     args.postgres, args.nats, Path(folder)))
            print(f"| {gateways} gateway + {workers} worker | PostgreSQL + NATS "
                  f"| {got['acked']:,.0f} | {got['stored']:,.0f} | {got['lag_s']:.2f} "
                  f"| {got['p50_ms']:.1f} / {got['p99_ms']:.1f} | {got['cpu_us']:.0f} |",
                  flush=True)


if __name__ == "__main__":
    main()
