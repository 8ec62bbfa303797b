"""Ingest throughput: N JT/T 808 terminals over real TCP into the gateway, stored in SQLite.

Each terminal registers, authenticates, then sends its positions one after another, each
waiting for its acknowledgement (which camtel sends only once the position is committed).
Prints positions written per second and acknowledgement latency (median, p99).

    .venv/bin/python bench/ingest.py --devices 1,10,100 --positions 100
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import struct
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from camtel.accounts.models import Organization
from camtel.config import Settings
from camtel.db import migrate
from camtel.devices.models import Device, Position
from camtel.ingest import Ingest
from camtel.services import Services


def xor(data: bytes) -> int:
    result = 0
    for byte in data:
        result ^= byte
    return result


def frame(message_id: int, body: bytes, phone: str, serial: int) -> bytes:
    data = struct.pack(">HH", message_id, len(body)) + bytes.fromhex(phone)
    data += struct.pack(">H", serial) + body
    raw = data + bytes([xor(data)])
    return b"\x7e" + raw.replace(b"\x7d", b"\x7d\x01").replace(b"\x7e", b"\x7d\x02") + b"\x7e"


def location(lat: float, lon: float, when: datetime) -> bytes:
    bcd = bytes.fromhex((when + timedelta(hours=8)).strftime("%y%m%d%H%M%S"))
    return struct.pack(">IIIIHHH", 0, 2, round(lat * 1e6), round(lon * 1e6), 10, 400, 90) + bcd


async def read_reply(reader: asyncio.StreamReader) -> bytes:
    await reader.readuntil(b"\x7e")
    return await reader.readuntil(b"\x7e")


async def terminal(port: int, phone: str, positions: int, latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    register = struct.pack(">HH", 44, 300) + b"BENCH" + b"\x00" * 20 + b"T000001" + b"\x01X"
    writer.write(frame(0x0100, register, phone, 1))
    reply = (await read_reply(reader)).replace(b"\x7d\x02", b"\x7e").replace(b"\x7d\x01", b"\x7d")
    code = reply[15:-2]
    writer.write(frame(0x0102, code, phone, 2))
    await read_reply(reader)
    start = datetime.now(UTC) - timedelta(hours=2)
    for n in range(positions):
        body = location(22.5 + n / 10_000, 114.0, start + timedelta(seconds=n))
        sent = time.perf_counter()
        writer.write(frame(0x0200, body, phone, 3 + n))
        await read_reply(reader)
        latencies.append(time.perf_counter() - sent)
    writer.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def run(devices: int, positions: int, batch: int) -> tuple[float, float, float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        settings = Settings(data_dir=Path(tmp), jt808_port=port, teltonika_port=0,
                            osmand_port=0, pipeline_batch_size=batch, log_level="WARNING")
        migrate.upgrade(settings.sqlalchemy_url)
        services = Services.build(settings)
        phones = [f"0139{n:08d}" for n in range(devices)]
        async with services.database.session() as db:
            org = Organization(name="Bench")
            db.add(org)
            await db.flush()
            db.add_all(Device(organization_id=org.id, name=p, unique_id=p, protocol="jt808")
                       for p in phones)
        ingest = Ingest.build(services)
        await ingest.start()
        latencies: list[float] = []
        began = time.perf_counter()
        await asyncio.gather(*(terminal(port, p, positions, latencies) for p in phones))
        elapsed = time.perf_counter() - began
        await ingest.stop()
        async with services.database.session() as db:
            written = await db.scalar(select(func.count()).select_from(Position)) or 0
        await services.database.dispose()
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return written / elapsed, statistics.median(latencies) * 1000, p99 * 1000, written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", default="1,10,100,500", help="comma-separated counts")
    parser.add_argument("--positions", type=int, default=100, help="positions per device")
    parser.add_argument("--batch", type=int, default=500, help="pipeline_batch_size")
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    print(f"JT/T 808 over TCP -> SQLite, {args.positions} positions per device, "
          f"batch {args.batch}, each terminal waits for its ack")
    print(f"{'devices':>8} {'written':>8} {'pos/s':>9} {'ack p50 ms':>11} {'ack p99 ms':>11}")
    for count in (int(c) for c in args.devices.split(",")):
        rate, p50, p99, written = asyncio.run(run(count, args.positions, args.batch))
        print(f"{count:>8} {written:>8} {rate:>9.0f} {p50:>11.1f} {p99:>11.1f}")


if __name__ == "__main__":
    main()
