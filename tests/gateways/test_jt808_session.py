"""A whole JT/T 808-2019 session over real TCP: escapes, split and coalesced segments, a
blind-area batch; every position stored exactly as sent and every message acknowledged."""

from __future__ import annotations

import asyncio
import struct
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from camtel.devices.models import Position as Row
from helpers.env import free_port
from helpers.ingest import location_body, make_device, running_ingest, unescape, xor

PHONE = "00000000013912345678"  # 10 BCD bytes in the 2019 header: 20 digits


def frame_2019(message_id: int, body: bytes, serial: int) -> bytes:
    properties = len(body) | 0x4000  # bit 14: the 2019 header (protocol version follows)
    data = (struct.pack(">HHB", message_id, properties, 1) + bytes.fromhex(PHONE)
            + struct.pack(">H", serial) + body)
    raw = data + bytes([xor(data)])
    return b"\x7e" + raw.replace(b"\x7d", b"\x7d\x01").replace(b"\x7e", b"\x7d\x02") + b"\x7e"


def register_2019() -> bytes:
    return (struct.pack(">HH", 44, 300) + b"CAMTEL".ljust(11, b"\x00")
            + b"DC-2019".ljust(30, b"\x00") + b"T2019".ljust(30, b"\x00") + b"\x01"
            + "粤B54321".encode("gbk"))


def auth_2019(code: bytes) -> bytes:
    return bytes([len(code)]) + code + b"861234567890123" + b"fw-2.4.1".ljust(20, b"\x00")


def bcd(utc: datetime) -> str:
    return (utc + timedelta(hours=8)).strftime("%y%m%d%H%M%S")


class Link:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def reply(self) -> tuple[int, int, bytes]:
        """(message id, properties, body) of the platform's next frame."""
        await asyncio.wait_for(self.reader.readuntil(b"\x7e"), 5)
        raw = unescape((await asyncio.wait_for(self.reader.readuntil(b"\x7e"), 5))[:-1])
        assert xor(raw[:-1]) == raw[-1]
        message_id, properties = struct.unpack_from(">HH", raw)
        header = 17 if properties & 0x4000 else 12
        return message_id, properties, raw[header:header + (properties & 0x3FF)]

    async def write(self, *pieces: bytes, pause: float = 0.05) -> None:
        for piece in pieces:
            self.writer.write(piece)
            await self.writer.drain()
            await asyncio.sleep(pause)


async def test_a_2019_terminal_session_is_stored_exactly(services):
    device_id = await make_device(services, "jt808", PHONE)
    base = (datetime.now(UTC) - timedelta(minutes=30)).replace(microsecond=0)
    # 22.543230 degrees is 0x0157FC7E: the latitude itself must be escaped on the wire.
    fixes = [(base + timedelta(seconds=10 * n), 22.543230 + n / 1e5, -43.172896 - n / 1e5)
             for n in range(8)]
    port = free_port()
    async with running_ingest(services, jt808_port=port):
        link = Link(*await asyncio.open_connection("127.0.0.1", port))
        await link.write(frame_2019(0x0100, register_2019(), 1))
        message_id, properties, body = await link.reply()
        assert message_id == 0x8100 and properties & 0x4000, "answered in the 2019 header"
        assert struct.unpack_from(">HB", body) == (1, 0)
        await link.write(frame_2019(0x0102, auth_2019(body[3:]), 2))
        assert (await link.reply())[2] == struct.pack(">HHB", 2, 0x0102, 0)

        frames = [frame_2019(0x0200, location_body(lat, lon, bcd(t)), 10 + n)
                  for n, (t, lat, lon) in enumerate(fixes[:4])]
        assert b"\x7d\x02" in frames[0], "the test really sends an escaped byte"
        one = frames[0]
        await link.write(one[:5], one[5:17], one[17:])  # one frame in three TCP segments
        await link.write(frames[1] + frames[2] + frames[3])  # three frames in one segment
        batch = struct.pack(">HB", 4, 1) + b"".join(
            struct.pack(">H", len(item)) + item
            for item in (location_body(lat, lon, bcd(t)) for t, lat, lon in fixes[4:]))
        await link.write(frame_2019(0x0704, batch, 20))
        acknowledged = [await link.reply() for _ in range(5)]
        assert [struct.unpack_from(">HH", body) for _, _, body in acknowledged] == [
            (10, 0x0200), (11, 0x0200), (12, 0x0200), (13, 0x0200), (20, 0x0704)]
        assert all(body[4] == 0 for _, _, body in acknowledged)
        link.writer.close()

    async with services.database.session() as db:
        rows = list(await db.scalars(select(Row).where(Row.device_id == device_id)
                                     .order_by(Row.time)))
    assert [(r.time, r.latitude, r.longitude) for r in rows] == [
        (t, round(lat, 6), round(lon, 6)) for t, lat, lon in fixes]
    assert [r.attributes.get("blind_area", False) for r in rows] == [False] * 4 + [True] * 4
