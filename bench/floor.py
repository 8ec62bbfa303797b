"""The floor for the ingest benchmark: split 0x7e frames, check the XOR, reply 0x8001 at once.

No decoding, no storage, no durability: what any Python JT/T 808 server on asyncio costs
at least, so that camtel's rate can be read as a fraction of it.
"""

from __future__ import annotations

import asyncio
import struct
from functools import reduce
from operator import xor

FLAG = 0x7E


def _unescape(data: bytes) -> bytes:
    return data.replace(b"\x7d\x02", b"\x7e").replace(b"\x7d\x01", b"\x7d")


def _escape(data: bytes) -> bytes:
    return data.replace(b"\x7d", b"\x7d\x01").replace(b"\x7e", b"\x7d\x02")


class FloorProtocol(asyncio.Protocol):
    """One connection: every frame with a good checksum gets a general response."""

    def __init__(self) -> None:
        self.buffer = b""
        self.serial = 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment] - uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data
        replies = []
        start = buffer.find(FLAG)
        while start >= 0:
            end = buffer.find(FLAG, start + 1)
            if end < 0:
                break
            inner = _unescape(buffer[start + 1 : end])
            start = buffer.find(FLAG, end + 1)
            if len(inner) < 13 or reduce(xor, inner[:-1], 0) != inner[-1]:
                continue
            message_id, = struct.unpack_from(">H", inner)
            phone, serial = inner[4:10], inner[10:12]
            self.serial = (self.serial + 1) & 0xFFFF
            body = serial + struct.pack(">HB", message_id, 0)
            head = struct.pack(">HH", 0x8001, len(body)) + phone + struct.pack(">H", self.serial)
            raw = head + body
            replies.append(b"\x7e" + _escape(raw + bytes([reduce(xor, raw, 0)])) + b"\x7e")
        self.buffer = buffer[start:] if start >= 0 else b""
        if replies and self.transport is not None:
            self.transport.write(b"".join(replies))


async def serve(host: str, port: int) -> asyncio.Server:
    loop = asyncio.get_running_loop()
    return await loop.create_server(FloorProtocol, host, port)
