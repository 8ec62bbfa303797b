"""Simulated JT/T 808 terminals for the ingest benchmark: frames built up front, acks counted.

Built by hand from the standard, independently of camtel's encoder. The frames of a run are
made before the clock starts so that the client process spends its CPU on the socket only.
"""

from __future__ import annotations

import asyncio
import struct
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

FLAG = b"\x7e"


def xor(data: bytes) -> int:
    result = 0
    for byte in data:
        result ^= byte
    return result


def frame(message_id: int, body: bytes, phone: str, serial: int) -> bytes:
    data = struct.pack(">HH", message_id, len(body)) + bytes.fromhex(phone)
    data += struct.pack(">H", serial & 0xFFFF) + body
    raw = data + bytes([xor(data)])
    return FLAG + raw.replace(b"\x7d", b"\x7d\x01").replace(b"\x7e", b"\x7d\x02") + FLAG


def location(lat: float, lon: float, when: datetime) -> bytes:
    """A 0x0200 body: basic information and two common items (mileage, satellites)."""
    bcd = bytes.fromhex((when + timedelta(hours=8)).strftime("%y%m%d%H%M%S"))
    basic = struct.pack(">IIIIHHH", 0, 0x2, round(lat * 1e6), round(lon * 1e6), 10, 400, 90)
    return basic + bcd + b"\x01\x04" + struct.pack(">I", 1234) + b"\x31\x01\x0c"


REGISTER_BODY = struct.pack(">HH", 44, 300) + b"BENCH" + b"\x00" * 20 + b"T000001" + b"\x01X"


@dataclass
class Plan:
    """The frames one terminal sends, and how many reports each carries."""

    phone: str
    frames: list[bytes] = field(default_factory=list)
    reports: int = 0


def plan(phone: str, reports: int, per_frame: int, first_serial: int = 3) -> Plan:
    """`reports` fixes one second apart ending a few minutes ago; 0x0200 when per_frame is 1,
    else 0x0704 batches (type 1: stored while out of coverage) of `per_frame` fixes."""
    out = Plan(phone)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=reports + 300)
    bodies = [location(22.5 + n / 100_000, 114.0 + n / 200_000, start + timedelta(seconds=n))
              for n in range(reports)]
    serial = first_serial
    if per_frame == 1:
        out.frames = [frame(0x0200, body, phone, serial + n) for n, body in enumerate(bodies)]
    else:
        for i in range(0, reports, per_frame):
            chunk = bodies[i : i + per_frame]
            body = struct.pack(">HB", len(chunk), 1)
            body += b"".join(struct.pack(">H", len(b)) + b for b in chunk)
            out.frames.append(frame(0x0704, body, phone, serial))
            serial += 1
    out.reports = reports
    return out


async def _reply(reader: asyncio.StreamReader) -> bytes:
    await reader.readuntil(FLAG)
    raw = await reader.readuntil(FLAG)
    return raw[:-1].replace(b"\x7d\x02", b"\x7e").replace(b"\x7d\x01", b"\x7d")


class Terminal:
    """One TCP connection: log in, then send the plan waiting for each ack or with a window."""

    def __init__(self, terminal_plan: Plan) -> None:
        self.plan = terminal_plan
        self.latencies: list[float] = []
        self.acked_frames = 0
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def connect(self, port: int) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
        phone = self.plan.phone
        self.writer.write(frame(0x0100, REGISTER_BODY, phone, 1))
        code = (await _reply(self.reader))[15:-1]  # header (12) + serial, result (3)
        self.writer.write(frame(0x0102, code, phone, 2))
        await _reply(self.reader)

    async def run(self, window: int) -> None:
        """Send every frame; at most `window` unacknowledged at once (1: wait for each)."""
        assert self.reader is not None and self.writer is not None
        reader, writer = self.reader, self.writer
        frames = self.plan.frames
        sent_at: list[float] = []
        total = len(frames)
        sent = 0
        flags = 0
        clock = time.perf_counter
        while self.acked_frames < total:
            while sent < total and sent - self.acked_frames < window:
                sent_at.append(clock())
                writer.write(frames[sent])
                sent += 1
            data = await reader.read(65536)
            if not data:
                raise ConnectionError(f"closed after {self.acked_frames} of {total} acks")
            flags += data.count(FLAG)
            now = clock()
            while self.acked_frames < flags // 2:  # replies are 0x7e…0x7e, in order
                self.latencies.append(now - sent_at[self.acked_frames])
                self.acked_frames += 1

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
