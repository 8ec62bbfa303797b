"""Hostile or broken devices never disturb another device's flow."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from camtel.devices.models import Position as Row
from helpers.env import free_port
from helpers.ingest import Terminal, jt808_frame, location_body, make_device, running_ingest

PHONE = "013912345678"


def bcd(utc: datetime) -> str:
    return (utc + timedelta(hours=8)).strftime("%y%m%d%H%M%S")


async def _closed_by_the_gateway(reader: asyncio.StreamReader, timeout: float = 5) -> bool:
    """Whether the gateway closes the connection (within `timeout`): it sends nothing."""
    try:
        return await asyncio.wait_for(reader.read(), timeout) == b""
    except ConnectionError:
        return True
    except TimeoutError:
        return False


async def _garbage(port: int) -> bool:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for _ in range(64):
        writer.write(os.urandom(16_384).replace(b"\x7e", b"\x00"))
        await writer.drain()
    try:
        return await _closed_by_the_gateway(reader)  # never a frame: idle, then closed
    finally:
        writer.close()


async def _oversized(port: int) -> bool:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"\x7e" + b"\x01" * 300_000)  # a frame start that never ends
    await writer.drain()
    try:
        return await _closed_by_the_gateway(reader)
    finally:
        writer.close()


async def _checksum_flood(port: int) -> bool:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    frame = bytearray(jt808_frame(0x0002, b"", "013900000009", 1))
    frame[-2] ^= 0x55  # wrong checksum
    try:
        for _ in range(1000):
            writer.write(bytes(frame))
            await writer.drain()
            await asyncio.sleep(0)
    except ConnectionError:
        pass
    try:
        return await asyncio.wait_for(reader.read(), 3) == b""
    except ConnectionError:
        return True


async def _slowloris(port: int) -> bool:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"\x7e")
    try:
        for _ in range(40):  # a byte every 100 ms, never a whole frame
            writer.write(b"\x01")
            await writer.drain()
            await asyncio.sleep(0.1)
            if reader.at_eof():
                return True
        return await asyncio.wait_for(reader.read(), 1) == b""
    except ConnectionError:
        return True


async def test_hostile_connections_leave_a_good_device_alone(services):
    device_id = await make_device(services, "jt808", PHONE)
    port = free_port()
    async with running_ingest(services, jt808_port=port, gateway_idle_timeout_s=1,
                              gateway_max_buffer=4096) as ingest:
        terminal = await Terminal(PHONE).connect(port)
        await terminal.login()

        async def good_device() -> list[float]:
            latencies = []
            start = datetime.now(UTC) - timedelta(minutes=30)
            for n in range(30):
                sent = time.perf_counter()
                body = location_body(22.5 + n / 1000, 114.0, bcd(start + timedelta(seconds=n)))
                serial = await terminal.send(0x0200, body)
                message_id, reply = await terminal.reply(timeout=2)
                assert message_id == 0x8001 and int.from_bytes(reply[:2], "big") == serial
                latencies.append(time.perf_counter() - sent)
                await asyncio.sleep(0.05)
            return latencies

        results = await asyncio.gather(
            good_device(), _garbage(port), _oversized(port), _checksum_flood(port),
            _slowloris(port),
        )
        latencies, garbage_closed, oversized_closed, flood_closed, slowloris_closed = results
        assert max(latencies) < 1.0, latencies
        assert garbage_closed and oversized_closed and flood_closed and slowloris_closed
        stats = ingest.stats()["jt808"]
        assert stats["closed_rejected"] >= 1
        assert stats["rejected:bad_checksum"] >= 16
        assert stats["closed_idle"] >= 2, stats  # slowloris, and garbage that never framed
        assert stats["bytes_dropped"] >= 1_000_000
        terminal.close()
    async with services.database.session() as db:
        count = await db.scalar(select(func.count()).select_from(Row)
                                .where(Row.device_id == device_id))
    assert count == 30
