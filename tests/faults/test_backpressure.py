"""When the database is slow, gateways stop reading and what camtel holds stays bounded.

The pipeline store's batch write is held (`helpers.faults.Throttle`: the real writer, at the
test's pace) while a device floods reports without waiting for replies. camtel must stop
reading the socket (the device's own kernel then refuses its writes), hold at most a named
number of reports, acknowledge nothing that is not stored and, once the store is fast
again, store and acknowledge everything, in order.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from camtel.devices.models import Position as Row
from camtel.gateways.tcp import READ_SIZE
from camtel.protocols.teltonika import crc16
from helpers.env import free_port
from helpers.faults import Flood, Throttle, jt808_acks, reports_held, server_side, until
from helpers.ingest import jt808_frame, location_body, make_device, running_ingest

PHONE = "013912340016"
IMEI = "356307042441016"
START = (datetime.now(UTC) - timedelta(days=2)).replace(microsecond=0)
#: Batches the test lets through one at a time while the store is slow.
SLOW_BATCHES = 4
#: Frames the device sends after the store is fast again.
AFTER = 500
#: Fixes in one Teltonika packet.
RECORDS = 16


def report(n: int) -> bytes:
    at = (START + timedelta(seconds=n)).strftime("%y%m%d%H%M%S")
    return jt808_frame(0x0200, location_body(52.52, 13.40, at), PHONE, n % 0xFFFF + 1)


async def rows(services) -> int:  # type: ignore[no-untyped-def]
    async with services.database.session() as db:
        return int(await db.scalar(select(func.count()).select_from(Row)) or 0)


async def test_jt808_flood_against_a_slow_store_stops_reading_and_stays_bounded(services):
    await make_device(services, "jt808", PHONE)
    port = free_port()
    async with running_ingest(services, jt808_port=port, jt808_tz_offset_hours=0) as ingest:
        throttle = Throttle(ingest.worker.store)
        device = Flood(port, report)
        try:
            device.limit = 10**9  # until its kernel refuses
            await until(lambda: ingest.gateways["jt808"].connections == 1, "the connection")
            connection = server_side(ingest, "jt808")
            handler = connection.handler
            limit = handler.acks.limit  # type: ignore[union-attr]
            frame_bytes = len(report(1))

            def stalled() -> bool:
                blocked = device.pump()
                return (
                    blocked
                    and not connection.writer.transport.is_reading()
                    and len(handler.acks) >= limit  # type: ignore[union-attr]
                )

            await until(stalled, "camtel to stop reading while the store holds its batch")
            read_at_stall = ingest.gateways["jt808"].counters["bytes_in"]
            held_at_stall = reports_held(ingest)
            assert device.pump(), "the device's writes still block"
            # Bytes read: the unanswered frames and at most one read's worth being split.
            bound = (limit + 1) * frame_bytes + READ_SIZE
            assert read_at_stall <= bound, (read_at_stall, bound)
            assert ingest.gateways["jt808"].counters["bytes_in"] == read_at_stall
            # Reports in memory: one per unanswered frame, nothing more.
            assert held_at_stall <= limit, held_at_stall
            assert jt808_acks(device.read()) == [], "acknowledged before stored"
            assert await rows(services) == 0
            sent_at_stall = device.sent
            buffered = len(connection.reader._buffer)  # type: ignore[attr-defined]

            # Slow: one batch at a time. Never an ack for a report that is not a row.
            for n in range(SLOW_BATCHES):
                throttle.let_through()
                await until(
                    lambda n=n: ingest.worker.store.counters["batches"] > n, "one batch written"
                )
                device.pump()
                acked = len(jt808_acks(device.read()))
                assert acked <= await rows(services)
                assert reports_held(ingest) <= limit

            # Fast again: everything sent is stored and acknowledged, in order.
            throttle.open()
            device.limit = device.made + AFTER
            await until(lambda: not device.pump(), "the device to send all it had")
            total = device.sent
            await until(lambda: len(jt808_acks(device.read())) >= total, "every ack")
            acks = jt808_acks(device.read())
            assert [serial for serial, _, _ in acks] == [n % 0xFFFF + 1 for n in range(total)]
            assert {(message, result) for _, message, result in acks} == {(0x0200, 0)}
            assert await rows(services) == total
            print(  # the figures the report quotes (pytest -s)
                f"\njt808: stalled after {sent_at_stall} frames sent, {read_at_stall} bytes read "
                f"(bound {bound}), {held_at_stall} reports held (bound {limit}), "
                f"{buffered} bytes buffered unread; {total} stored"
            )
        finally:
            device.close()


def handshake(imei: str) -> bytes:
    return struct.pack(">H", len(imei)) + imei.encode()


def avl_packet(n: int, records: int = RECORDS) -> bytes:
    """A codec 8 packet of `records` fixes, one second apart, the n-th of a stream."""
    body = b""
    for k in range(records):
        when = START + timedelta(seconds=n * records + k)
        body += struct.pack(
            ">QBiiHHBH",
            int(when.timestamp() * 1000),
            0,
            round(25.28 * 1e7),
            round(54.68 * 1e7),
            40,
            180,
            9,
            30,
        )
        body += bytes([0, 1, 1, 239, 1, 0, 0, 0])
    data = bytes([0x08, records]) + body + bytes([records])
    return b"\x00" * 4 + struct.pack(">I", len(data)) + data + struct.pack(">I", crc16(data))


async def test_teltonika_flood_against_a_slow_store_stops_reading(services):
    await make_device(services, "teltonika", IMEI)
    port = free_port()
    async with running_ingest(services, teltonika_port=port) as ingest:
        throttle = Throttle(ingest.worker.store)
        device = Flood(port, avl_packet)
        try:
            device.write_raw(handshake(IMEI))
            await until(lambda: device.read() == b"\x01", "the IMEI accepted")
            device.replies.clear()
            device.limit = 10**9
            connection = server_side(ingest, "teltonika")
            packet_bytes = len(avl_packet(0))

            def stalled() -> bool:
                return device.pump() and not connection.writer.transport.is_reading()

            await until(stalled, "camtel to stop reading while the store holds its batch")
            read_at_stall = ingest.gateways["teltonika"].counters["bytes_in"]
            held_at_stall = reports_held(ingest)
            sent_at_stall = device.sent
            buffered = len(connection.reader._buffer)  # type: ignore[attr-defined]
            assert device.pump()
            # One packet waits for its commit; the read loop holds at most one read more.
            bound = len(handshake(IMEI)) + packet_bytes + READ_SIZE
            assert read_at_stall <= bound, (read_at_stall, bound)
            assert held_at_stall <= RECORDS, held_at_stall  # the records of that one packet
            assert device.read() == b"", "acknowledged before stored"

            throttle.open()
            device.limit = device.made + AFTER // RECORDS
            await until(lambda: not device.pump(), "the device to send all it had")
            total = device.sent
            await until(lambda: len(device.read()) >= 4 * total, "every ack")
            assert device.read() == struct.pack(">I", RECORDS) * total, "one count per packet"
            assert await rows(services) == RECORDS * total
            print(
                f"\nteltonika: stalled after {sent_at_stall} packets sent, {read_at_stall} bytes "
                f"read (bound {bound}), {held_at_stall} reports held (bound {RECORDS}), "
                f"{buffered} bytes buffered unread"
            )
        finally:
            device.close()
