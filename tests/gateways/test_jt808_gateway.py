"""A JT/T 808 terminal over real TCP: login, positions acknowledged only once stored."""

from __future__ import annotations

import asyncio
import struct
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from camtel.devices.models import PendingDevice
from camtel.devices.models import Position as Row
from camtel.ingest import NotConnected
from camtel.messages import Command
from helpers.accounts import sign_up
from helpers.env import free_port
from helpers.ingest import Terminal, location_body, make_device, running_ingest, xor

PHONE = "013912345678"


def bcd(utc: datetime, offset_hours: float = 8) -> str:
    return (utc + timedelta(hours=offset_hours)).strftime("%y%m%d%H%M%S")


def recent(minutes: int = 10) -> datetime:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).replace(microsecond=0)


async def stored(services, device_id=None):  # type: ignore[no-untyped-def]
    async with services.database.session() as db:
        query = select(Row).order_by(Row.time)
        if device_id is not None:
            query = query.where(Row.device_id == device_id)
        return list(await db.scalars(query))


async def test_register_authenticate_locate_acknowledged_after_commit(client, services):
    headers, _ = await sign_up(client, services, "fleet@example.com")
    made = await client.post("/api/v1/devices", headers=headers, json={
        "name": "Van", "unique_id": PHONE, "protocol": "jt808"})
    assert made.status_code == 201, made.text
    device_id = made.json()["id"]
    port = free_port()
    async with running_ingest(services, jt808_port=port) as ingest:
        assert ingest.ports == {"jt808": port}
        assert all(ready() for ready in ingest.readiness().values())
        terminal = await Terminal(PHONE).connect(port)
        await terminal.login()

        # Hold the store's commit: no acknowledgement may reach the terminal meanwhile.
        store = ingest.worker.store
        gate = asyncio.Event()
        original = store._write

        async def held(batch):  # type: ignore[no-untyped-def]
            await gate.wait()
            await original(batch)

        store._write = held  # type: ignore[method-assign]
        fix_time = recent()
        serial = await terminal.send(0x0200, location_body(22.543210, 114.057890, bcd(fix_time)))
        try:
            await asyncio.wait_for(terminal.reply(), 0.5)
            raise AssertionError("acknowledged before the position was stored")
        except TimeoutError:
            pass
        assert await stored(services) == []
        gate.set()
        message_id, body = await terminal.reply()
        assert message_id == 0x8001
        assert struct.unpack(">HHB", body) == (serial, 0x0200, 0)
        assert len(await stored(services)) == 1, "durable when acknowledged"
        terminal.close()

    answer = await client.get(f"/api/v1/devices/{device_id}/positions", headers=headers)
    assert answer.status_code == 200, answer.text
    [position] = answer.json()
    assert datetime.fromisoformat(position["time"]) == fix_time, "UTC+8 device clock to UTC"
    assert (position["latitude"], position["longitude"]) == (22.54321, 114.05789)
    assert position["speed_kmh"] == 36.0 and position["course"] == 90
    device = (await client.get(f"/api/v1/devices/{device_id}", headers=headers)).json()
    assert device["status"] == "online"


async def test_repeated_delivery_is_stored_once(services):
    device_id = await make_device(services, "jt808", PHONE)
    port = free_port()
    async with running_ingest(services, jt808_port=port) as ingest:
        terminal = await Terminal(PHONE).connect(port)
        await terminal.login()
        body = location_body(22.5, 114.0, bcd(recent()))
        serial = await terminal.send(0x0200, body)
        await terminal.reply()
        await terminal.send(0x0200, body, serial=serial)  # lost ack: the same frame again
        await terminal.send(0x0200, body)  # or resent with a new serial
        acks = [await terminal.reply() for _ in range(2)]
        assert [a[0] for a in acks] == [0x8001, 0x8001], "a repeat is acknowledged too"
        terminal.close()
        assert ingest.stats()["pipeline"]["dropped:duplicate"] == 2
    assert len(await stored(services, device_id)) == 1


async def test_device_time_zone_attribute_overrides_the_default(services):
    await make_device(services, "jt808", PHONE, {"tz_offset_hours": 0})
    port = free_port()
    async with running_ingest(services, jt808_port=port):
        terminal = await Terminal(PHONE).connect(port)
        fix_time = recent()
        await terminal.send(0x0200, location_body(22.5, 114.0, bcd(fix_time, 0)))
        assert (await terminal.reply())[0] == 0x8001
        terminal.close()
    [row] = await stored(services)
    assert row.time == fix_time


async def test_unknown_terminal_is_pending_and_never_acknowledged(services):
    port = free_port()
    async with running_ingest(services, jt808_port=port) as ingest:
        terminal = await Terminal("013900000001").connect(port)
        await terminal.send(0x0100, b"\x00" * 37 + b"X")
        message_id, body = await terminal.reply()
        assert (message_id, body[2]) == (0x8100, 4), "registration answered: no such terminal"
        await terminal.send(0x0200, location_body(22.5, 114.0, bcd(recent())))
        await terminal.send(0x0002, b"")
        try:
            reply = await asyncio.wait_for(terminal.reply(), 0.5)
            raise AssertionError(f"an unknown terminal got {reply}")
        except TimeoutError:
            pass
        terminal.close()
        assert ingest.stats()["jt808"]["unknown_device_frames"] == 3
    assert await stored(services) == []
    async with services.database.session() as db:
        [pending] = list(await db.scalars(select(PendingDevice)))
    assert (pending.protocol, pending.unique_id) == ("jt808", "013900000001")


async def test_reconnecting_terminal_takes_over_its_session(services):
    device_id = await make_device(services, "jt808", PHONE)
    port = free_port()
    async with running_ingest(services, jt808_port=port) as ingest:
        first = await Terminal(PHONE).connect(port)
        await first.login()
        second = await Terminal(PHONE).connect(port)
        await second.login()
        assert await first.closed(), "the old connection is closed"
        assert ingest.stats()["sink"]["takeovers"] == 1
        serial = await ingest.send_command(device_id, Command("locate"))
        message_id, _ = await second.reply()
        assert message_id == 0x8201 and serial is not None
        second.close()
        await asyncio.sleep(0.1)
        try:
            await ingest.send_command(device_id, Command("locate"))
            raise AssertionError("a closed session still took a command")
        except NotConnected:
            pass
        try:
            await ingest.send_command(uuid.uuid4(), Command("locate"))
            raise AssertionError("unknown device")
        except NotConnected:
            pass


async def test_wrong_auth_code_gets_no_position_stored(services):
    await make_device(services, "jt808", PHONE)
    port = free_port()
    async with running_ingest(services, jt808_port=port, jt808_auth_secret="s3cret"):
        terminal = await Terminal(PHONE).connect(port)
        await terminal.send(0x0102, b"not-the-code")
        message_id, body = await terminal.reply()
        assert (message_id, body[4]) == (0x8001, 1), "auth failed"
        await terminal.send(0x0200, location_body(22.5, 114.0, bcd(recent())))
        try:
            await asyncio.wait_for(terminal.reply(), 0.5)
            raise AssertionError("position acknowledged without authentication")
        except TimeoutError:
            pass
        await terminal.login()  # the right code from registration
        await terminal.send(0x0200, location_body(22.5, 114.0, bcd(recent(5))))
        assert (await terminal.reply())[0] == 0x8001
        terminal.close()
    assert len(await stored(services)) == 1


async def test_logs_carry_neither_phone_numbers_nor_coordinates(services, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    await make_device(services, "jt808", PHONE)
    port = free_port()
    async with running_ingest(services, jt808_port=port):
        known = await Terminal(PHONE).connect(port)
        await known.login()
        await known.send(0x0200, location_body(22.543210, 114.057890, bcd(recent())))
        await known.reply()
        stranger = await Terminal("013900000777").connect(port)
        await stranger.send(0x0200, location_body(22.543210, 114.057890, bcd(recent())))
        await asyncio.sleep(0.2)
        known.close()
        stranger.close()
    text = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("camtel"))
    assert "dev:" in text, "devices are named by a keyed hash"
    for secret in (PHONE, "13912345678", "013900000777", "22.54", "114.05"):
        assert secret not in text, secret


# A captured report (Traccar's JT/T 808 suite, tests/data/vectors/jt808.tsv, the one with
# RPM 55): terminal 017721028890, 2024-01-10 09:26:05 UTC, 45 km/h, mileage item 0x01 572
# (0.1 km), ignition on.
CAPTURED_REPORT = (
    "7e0200009e017721028890061b00000000004c000301d9f2d4073ca28d002b01c2000024011017260501040000"
    "023c3001193101162504000000001404000000011504000000041604000000001702000018030000002b04000000"
    "00e10400735443e20400001211e30a4e61747572654c696e6be635244f42442d52542c2c35352e3030302c313033"
    "2e37382c2c302e302c342c2c2c2c302e3030302c2c31323336302e32382c2c2c0d0aa27e"
)


def driven_on(body: bytes, seconds: int, north_udeg: int, mileage_100m: int) -> bytes:
    """The captured body a little later and further north, its odometer (item 0x01) moved on."""
    (lat,) = struct.unpack_from(">I", body, 8)
    when = datetime.strptime(body[22:28].hex(), "%y%m%d%H%M%S") + timedelta(seconds=seconds)
    assert body[28:30] == b"\x01\x04", "item 0x01 comes first in this capture"
    return (body[:8] + struct.pack(">I", lat + north_udeg) + body[12:22]
            + bytes.fromhex(when.strftime("%y%m%d%H%M%S")) + body[28:30]
            + struct.pack(">I", mileage_100m) + body[34:])


async def test_device_odometer_is_kept_beside_the_computed_distance(client, services):
    phone = "017721028890"
    headers, _ = await sign_up(client, services, "odometer@example.com")
    made = await client.post("/api/v1/devices", headers=headers, json={
        "name": "Truck", "unique_id": phone, "protocol": "jt808"})
    assert made.status_code == 201, made.text
    captured = bytes.fromhex(CAPTURED_REPORT)
    inner = captured[1:-1]
    assert xor(inner[:-1]) == inner[-1]
    body = inner[12:-1]
    port = free_port()
    async with running_ingest(services, jt808_port=port):
        terminal = await Terminal(phone).connect(port)
        assert terminal.writer is not None
        terminal.writer.write(b"\x7e" + inner.replace(b"\x7d", b"\x7d\x01")
                              .replace(b"\x7e", b"\x7d\x02") + b"\x7e")
        assert (await terminal.reply())[0] == 0x8001
        # A minute later ~111 m further north each time, the dashboard 0.1 km on.
        for step in (1, 2):
            await terminal.send(0x0200, driven_on(body, 60 * step, 1000 * step, 572 + step))
            assert (await terminal.reply())[0] == 0x8001
        terminal.close()

    answer = await client.get(f"/api/v1/devices/{made.json()['id']}/positions", headers=headers,
                              params={"from": "2024-01-10T00:00:00Z",
                                      "to": "2024-01-11T00:00:00Z"})
    assert answer.status_code == 200, answer.text
    attributes = [p["attributes"] for p in answer.json()]
    assert [a["odometer_m"] for a in attributes] == [57_200, 57_300, 57_400], "as the device said"
    assert [a["distance_m"] for a in attributes] == [0.0, 111.2, 111.2]
    assert [a["total_distance_m"] for a in attributes] == [0.0, 111.2, 222.4]
    assert [a["motion"] for a in attributes] == [True, True, True]
    assert all(a["ignition"] is True for a in attributes), "the rest as the device said too"
