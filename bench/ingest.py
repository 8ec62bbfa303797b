"""Ingest throughput: N JT/T 808 terminals over loopback TCP into camtel (SQLite), and the floor.

The server runs in its own process (uvloop), so that its CPU time and peak memory are its
own; the terminals run in this one. Each run starts a fresh server and database, logs every
terminal in, then times how long the reports take to be acknowledged. camtel acknowledges a
frame only after its positions are committed; the rows are counted afterwards to check it.
The same terminals then run against the floor (bench/floor.py: split, XOR check, reply), and
camtel's rate is printed as a fraction of it.

Client modes: `wait` sends a 0x0200 and waits for its ack before the next; `pipe` keeps up
to 16 0x0200 frames unacknowledged; `batch` sends 0x0704 frames of 20 reports, up to 4 at
once (a terminal uploading what it stored out of coverage). A report is one position.

    .venv/bin/python bench/ingest.py --devices 10,100,500 --modes wait,pipe,batch --repeat 3

Profile the server with BENCH_PROFILE=/tmp/server.prof (cProfile of the server process).
`--postgres postgresql://postgres@127.0.0.1:5432/postgres` stores in PostgreSQL instead (a
database made and dropped per run).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import terminals

MODES = {"wait": (1, 1), "pipe": (1, 16), "batch": (20, 4)}  # reports per frame, window


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- the server process ------------------------------------------------------------------


#: One organisation-wide polygon fence around the area the terminals report from (they stay
#: inside it): every fix is matched against it, as in a fleet that watches its depot region.
FENCE = {"type": "Polygon", "coordinates": [[[113.9, 22.4], [114.3, 22.4], [114.3, 22.9],
                                             [113.9, 22.9], [113.9, 22.4]]]}


async def _camtel_server(devices: int, batch: int, fence: bool) -> None:
    from sqlalchemy import func, select, text

    from camtel.accounts.models import Organization
    from camtel.config import Settings
    from camtel.db import migrate
    from camtel.devices.models import Device, Position
    from camtel.geofences.models import Geofence
    from camtel.ingest import Ingest
    from camtel.services import Services

    with tempfile.TemporaryDirectory() as tmp, _database() as url:
        settings = Settings(data_dir=Path(tmp), jt808_port=_free_port(), teltonika_port=0,
                            osmand_port=0, pipeline_batch_size=batch, log_level="WARNING",
                            database_url=url)
        migrate.upgrade(settings.sqlalchemy_url)
        services = Services.build(settings)
        async with services.database.session() as db:
            org = Organization(name="Bench")
            db.add(org)
            await db.flush()
            db.add_all(Device(organization_id=org.id, name=p, unique_id=p, protocol="jt808")
                       for p in _phones(devices))
            if fence:
                db.add(Geofence(organization_id=org.id, name="Depot region", kind="polygon",
                                geometry=FENCE, breach_on="exit", updated_at=datetime.now(UTC)))
        ingest = Ingest.build(services)
        await ingest.start()
        if os.environ.get("BENCH_GC", "settled") == "settled":  # as `camtel serve` does
            from camtel.runtime import settle_heap

            settle_heap()

        async def rows() -> dict[str, float]:
            async with services.database.session() as db:
                count = await db.scalar(select(func.count()).select_from(Position)) or 0
                size = 0
                if services.database.dialect == "sqlite":  # the table and its indexes
                    size = await db.scalar(text(
                        "SELECT sum(pgsize) FROM dbstat WHERE name = 'positions' OR name IN "
                        "(SELECT name FROM sqlite_schema WHERE tbl_name = 'positions')")) or 0
                else:  # every month's partition with its indexes and TOAST
                    size = await db.scalar(text(
                        "SELECT coalesce(sum(pg_total_relation_size(inhrelid)), 0) "
                        "FROM pg_inherits WHERE inhparent = 'positions'::regclass")) or 0
                return {"rows": count, "bytes": float(size) / count if count else 0}

        await _control(ingest.ports["jt808"], rows)
        await ingest.stop()
        await services.database.dispose()


@contextlib.contextmanager
def _database() -> Iterator[str]:
    """"" (SQLite in the data dir), or a fresh PostgreSQL database when BENCH_PG names the
    server's admin URL (dropped afterwards)."""
    admin_url = os.environ.get("BENCH_PG", "")
    if not admin_url:
        yield ""
        return
    import psycopg

    name = f"camtel_bench_{os.getpid()}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{admin_url.rsplit('/', 1)[0]}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _floor_server() -> None:
    import floor

    server = await floor.serve("127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]

    async def rows() -> dict[str, float]:
        return {"rows": 0, "bytes": 0}

    await _control(port, rows)
    server.close()


async def _control(port: int, rows: object) -> None:
    """Answer the driver's commands on stdin: `mark` (CPU so far), `rows`, `quit`."""
    loop = asyncio.get_running_loop()
    print(json.dumps({"port": port}), flush=True)
    while True:
        line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
        if line == "mark":
            print(json.dumps({"cpu": _cpu()}), flush=True)
        elif line == "rows":
            counted = await rows()  # type: ignore[operator]
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(json.dumps({**counted, "rss_mb": rss}), flush=True)
        else:
            return


def serve(kind: str, devices: int, batch: int, fence: bool) -> None:
    import uvloop

    uvloop.install()
    main = _camtel_server(devices, batch, fence) if kind == "camtel" else _floor_server()
    profile = os.environ.get("BENCH_PROFILE")  # a path: cProfile the server into it
    if not profile:
        asyncio.run(main)
        return
    import cProfile

    with cProfile.Profile() as profiler:
        asyncio.run(main)
    profiler.dump_stats(profile)


# --- the driver --------------------------------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _phones(devices: int) -> list[str]:
    return [f"0139{n:08d}" for n in range(devices)]


class Server:
    """A server subprocess driven over its stdin/stdout."""

    def __init__(self, kind: str, devices: int, batch: int, fence: bool) -> None:
        cmd = [sys.executable, __file__, "--serve", kind, "--devices", str(devices),
               "--batch", str(batch), *([] if fence else ["--no-fence"])]
        self.process = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True)
        self.port = int(self.ask("")["port"])

    def ask(self, command: str) -> dict[str, float]:
        assert self.process.stdin is not None and self.process.stdout is not None
        if command:
            self.process.stdin.write(command + "\n")
            self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the server stopped (exit {self.process.wait()})")
        return json.loads(line)  # type: ignore[no-any-return]

    def quit(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("quit\n")
        self.process.stdin.close()
        self.process.wait(60)


async def _clients(port: int, plans: list[terminals.Plan], window: int) -> tuple[
        list[terminals.Terminal], float]:
    clients = [terminals.Terminal(p) for p in plans]
    for start in range(0, len(clients), 100):  # log in without a connection storm
        await asyncio.gather(*(c.connect(port) for c in clients[start : start + 100]))
    began = time.perf_counter()
    await asyncio.gather(*(c.run(window) for c in clients))
    elapsed = time.perf_counter() - began
    for client in clients:
        client.close()
    return clients, elapsed


def measure(kind: str, devices: int, mode: str, reports: int, batch: int,
            fence: bool = True) -> dict[str, float]:
    per_frame, window = MODES[mode]
    each = max(per_frame, reports // devices // per_frame * per_frame)
    plans = [terminals.plan(phone, each, per_frame) for phone in _phones(devices)]
    server = Server(kind, devices, batch, fence)
    try:
        before = server.ask("mark")["cpu"]
        clients, elapsed = asyncio.run(_clients(server.port, plans, window))
        cpu = server.ask("mark")["cpu"] - before
        stored = server.ask("rows")
    finally:
        server.quit()
    total = sum(p.reports for p in plans)
    if kind == "camtel" and stored["rows"] != total:
        raise RuntimeError(f"{total} reports acknowledged but {stored['rows']} rows stored")
    latencies = sorted(x for c in clients for x in c.latencies)
    return {
        "rate": total / elapsed,
        "cpu_us": cpu / total * 1e6,
        "rss_mb": stored["rss_mb"],
        "bytes": stored["bytes"],
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
    }


def _median(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", default="10,100,500", help="comma-separated counts")
    parser.add_argument("--modes", default="wait,pipe,batch", help="wait, pipe, batch")
    parser.add_argument("--reports", type=int, default=20_000, help="reports per run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per cell; medians shown")
    parser.add_argument("--batch", type=int, default=500, help="pipeline_batch_size")
    parser.add_argument("--no-floor", action="store_true", help="skip the floor server")
    parser.add_argument("--no-fence", action="store_true", help="no organisation-wide fence")
    parser.add_argument("--postgres", metavar="ADMIN_URL", default="",
                        help="PostgreSQL instead of SQLite (a database made per run here)")
    parser.add_argument("--serve", choices=["camtel", "floor"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, int(args.devices), args.batch, not args.no_fence)
        return
    import uvloop

    uvloop.install()
    if args.postgres:
        os.environ["BENCH_PG"] = args.postgres  # read by the server processes
    store = "PostgreSQL" if args.postgres else "SQLite"
    print(f"JT/T 808 over loopback TCP -> camtel ({store}, batch {args.batch}, "
          f"{'no fence' if args.no_fence else 'one polygon fence'}) vs floor; "
          f"medians of {args.repeat}; nproc {os.cpu_count()}, Python {sys.version.split()[0]}")
    print("| devices | client mode | reports/s acked | ratio to floor | CPU µs/report "
          "| peak RSS MB | ack p50/p99 ms | bytes/position |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for devices in (int(d) for d in args.devices.split(",")):
        for mode in args.modes.split(","):
            reports, fence = args.reports, not args.no_fence
            runs, floors = [], []
            for _ in range(args.repeat):  # alternate, so that both see the same machine
                runs.append(measure("camtel", devices, mode, reports, args.batch, fence))
                if not args.no_floor:
                    floors.append(measure("floor", devices, mode, reports, args.batch))
            ours = _median(runs)
            ratio = "-"
            if floors:
                floor = _median(floors)["rate"]
                ratio = f"{ours['rate'] / floor:.2f} of {floor:,.0f}"
            print(f"| {devices} | {mode} | {ours['rate']:,.0f} | {ratio} | {ours['cpu_us']:.0f} "
                  f"| {ours['rss_mb']:.0f} | {ours['p50_ms']:.1f} / {ours['p99_ms']:.1f} "
                  f"| {ours['bytes']:.0f} |",
                  flush=True)


if __name__ == "__main__":
    main()
