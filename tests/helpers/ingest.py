"""Helpers for ingest tests: devices in the database, free ports, a JT/T 808 terminal."""

from __future__ import annotations

import asyncio
import dataclasses
import ssl
import struct
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from camtel.accounts.models import Organization
from camtel.devices.models import Device
from camtel.ingest import Ingest
from camtel.services import Services

OFF = {"jt808_port": 0, "teltonika_port": 0, "osmand_port": 0, "mqtt_url": ""}


async def make_device(services: Services, protocol: str, unique_id: str,
                      attributes: dict[str, Any] | None = None) -> uuid.UUID:
    async with services.database.session() as db:
        org = Organization(name="Fleet")
        db.add(org)
        await db.flush()
        device = Device(organization_id=org.id, name=unique_id, unique_id=unique_id,
                        protocol=protocol, attributes=attributes or {})
        db.add(device)
        await db.flush()
        return device.id



@asynccontextmanager
async def running_ingest(services: Services, **settings: Any) -> AsyncIterator[Ingest]:
    """An Ingest on the test's database with only the given settings changed (ports off)."""
    changed = services.settings.model_copy(update={**OFF, "http_host": "127.0.0.1", **settings})
    ingest = Ingest.build(dataclasses.replace(services, settings=changed))
    await ingest.start()
    try:
        yield ingest
    finally:
        await ingest.stop()


# A JT/T 808 terminal, built by hand from the standard, independently of camtel's decoder.

def xor(data: bytes) -> int:
    result = 0
    for byte in data:
        result ^= byte
    return result


def jt808_frame(message_id: int, body: bytes, phone: str, serial: int) -> bytes:
    header = struct.pack(">HH", message_id, len(body)) + bytes.fromhex(phone)
    data = header + struct.pack(">H", serial) + body
    raw = data + bytes([xor(data)])
    return b"\x7e" + raw.replace(b"\x7d", b"\x7d\x01").replace(b"\x7e", b"\x7d\x02") + b"\x7e"


def register_body() -> bytes:
    return (struct.pack(">HH", 44, 300) + b"CAMTL" + b"DC-1".ljust(20, b"\x00")
            + b"T000001" + b"\x01" + "粤B12345".encode("gbk"))


def location_body(lat: float, lon: float, bcd_time: str, speed_kmh: float = 36.0,
                  course: int = 90) -> bytes:
    status = 0x2 | (0x4 if lat < 0 else 0) | (0x8 if lon < 0 else 0)
    return struct.pack(">IIIIHHH", 0, status, round(abs(lat) * 1e6), round(abs(lon) * 1e6), 12,
                       round(speed_kmh * 10), course) + bytes.fromhex(bcd_time)


def unescape(data: bytes) -> bytes:
    return data.replace(b"\x7d\x02", b"\x7e").replace(b"\x7d\x01", b"\x7d")


class Terminal:
    """One JT/T 808 terminal over TCP: send frames, read the platform's replies."""

    def __init__(self, phone: str) -> None:
        self.phone = phone
        self.serial = 0
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def connect(self, port: int, tls: ssl.SSLContext | None = None) -> Terminal:
        self.reader, self.writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=tls, server_hostname="localhost" if tls else None
        )
        return self

    async def send(self, message_id: int, body: bytes, serial: int | None = None) -> int:
        if serial is None:
            self.serial += 1
            serial = self.serial
        assert self.writer is not None
        self.writer.write(jt808_frame(message_id, body, self.phone, serial))
        await self.writer.drain()
        return serial

    async def reply(self, timeout: float = 5.0) -> tuple[int, bytes]:
        """The next reply: (message id, body)."""
        assert self.reader is not None
        await asyncio.wait_for(self.reader.readuntil(b"\x7e"), timeout)
        raw = unescape((await asyncio.wait_for(self.reader.readuntil(b"\x7e"), timeout))[:-1])
        assert xor(raw[:-1]) == raw[-1], "reply checksum"
        message_id, properties = struct.unpack_from(">HH", raw)
        return message_id, raw[12:12 + (properties & 0x3FF)]

    async def login(self) -> str:
        """Register and authenticate; returns the auth code."""
        await self.send(0x0100, register_body())
        message_id, body = await self.reply()
        assert message_id == 0x8100 and body[2] == 0, (hex(message_id), body.hex())
        code = body[3:]
        await self.send(0x0102, code)
        message_id, body = await self.reply()
        assert (message_id, body[2:4], body[4]) == (0x8001, b"\x01\x02", 0)
        return code.decode()

    async def closed(self, timeout: float = 5.0) -> bool:
        assert self.reader is not None
        try:
            return await asyncio.wait_for(self.reader.read(), timeout) == b""
        except ConnectionError:
            return True

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
