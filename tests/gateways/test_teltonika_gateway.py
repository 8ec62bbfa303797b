"""A Teltonika tracker over real TCP: IMEI handshake, AVL acknowledged with its record count."""

from __future__ import annotations

import asyncio
import struct
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from camtel.devices.models import PendingDevice
from camtel.devices.models import Position as Row
from camtel.protocols.teltonika import crc16
from helpers.env import free_port
from helpers.ingest import make_device, running_ingest

IMEI = "356307042441013"


def handshake(imei: str) -> bytes:
    return struct.pack(">H", len(imei)) + imei.encode()


def avl_frame(fixes: list[tuple[datetime, float, float, int]]) -> bytes:
    """A codec 8 packet: one record per (time, lat, lon, speed km/h), one IO element each."""
    records = b""
    for when, lat, lon, speed in fixes:
        records += struct.pack(">QBiiHHBH", int(when.timestamp() * 1000), 0,
                               round(lon * 1e7), round(lat * 1e7), 40, 180, 9, speed)
        records += bytes([0, 1, 1, 239, 1, 0, 0, 0])  # event 0; one 1-byte IO: ignition on
    data = bytes([0x08, len(fixes)]) + records + bytes([len(fixes)])
    return b"\x00" * 4 + struct.pack(">I", len(data)) + data + struct.pack(">I", crc16(data))


async def test_handshake_then_records_acknowledged_after_storing(services):
    device_id = await make_device(services, "teltonika", IMEI)
    port = free_port()
    start = (datetime.now(UTC) - timedelta(minutes=5)).replace(microsecond=0)
    fixes = [(start, 54.68, 25.28, 30), (start + timedelta(seconds=10), 54.681, 25.281, 32)]
    async with running_ingest(services, teltonika_port=port) as ingest:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(handshake(IMEI))
        assert await asyncio.wait_for(reader.readexactly(1), 5) == b"\x01"
        writer.write(avl_frame(fixes))
        assert await asyncio.wait_for(reader.readexactly(4), 5) == b"\x00\x00\x00\x02"
        async with services.database.session() as db:
            assert len(list(await db.scalars(select(Row)))) == 2, "stored before the ack"
        writer.write(avl_frame(fixes))  # no ack seen by the device: it sends them again
        assert await asyncio.wait_for(reader.readexactly(4), 5) == b"\x00\x00\x00\x02"
        writer.close()
        assert ingest.stats()["pipeline"]["dropped:duplicate"] == 2
    async with services.database.session() as db:
        rows = list(await db.scalars(select(Row).order_by(Row.time)))
    assert [(r.device_id, r.time, r.latitude, r.speed_kmh) for r in rows] == [
        (device_id, start, 54.68, 30.0), (device_id, start + timedelta(seconds=10), 54.681, 32.0)]


async def test_unknown_imei_is_refused_and_pending(services):
    port = free_port()
    async with running_ingest(services, teltonika_port=port):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(handshake("356307042441099"))
        assert await asyncio.wait_for(reader.read(), 5) == b"\x00", "refused, then closed"
        writer.close()
    async with services.database.session() as db:
        [pending] = list(await db.scalars(select(PendingDevice)))
        assert pending.unique_id == "356307042441099"
        assert list(await db.scalars(select(Row))) == []
