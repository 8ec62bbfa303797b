"""The event stages on a real database: fences from the FenceBook, crossings decided once,
durable with their position; and a JT/T 808 terminal over TCP leaving and entering a fence."""

from __future__ import annotations

import asyncio
import dataclasses
import struct
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from camtel.bus.base import Envelope
from camtel.db.base import utcnow
from camtel.devices.models import Device
from camtel.events.models import Event
from camtel.geofences import geometry
from camtel.geofences.book import FenceBook
from camtel.geofences.models import Geofence, GeofenceDevice
from camtel.ingest import Ingest
from camtel.messages import Position
from camtel.pipeline.stages import build_stages
from camtel.pipeline.state import DeviceState
from helpers.accounts import sign_up
from helpers.env import free_port
from helpers.geofences import geofence_client
from helpers.ingest import OFF, Terminal, make_device

CENTRE = (114.057890, 22.543210)  # lon, lat
T0 = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


def away(metres: float, azimuth: float = 90.0) -> tuple[float, float]:
    lon, lat, _ = geometry.GEOD.fwd(CENTRE[0], CENTRE[1], azimuth, metres)
    return lon, lat


async def add_fence(services, device_id, *, radius=200.0, speed=None, link=False,  # type: ignore[no-untyped-def]
                    breach_on=None) -> uuid.UUID:
    async with services.database.session() as db:
        device = await db.get(Device, device_id)
        fence = Geofence(organization_id=device.organization_id, name="Depot", kind="circle",
                         geometry={"type": "Point", "coordinates": list(CENTRE)},
                         radius_m=radius, speed_limit_kmh=speed, breach_on=breach_on,
                         updated_at=utcnow())
        db.add(fence)
        await db.flush()
        if link:
            db.add(GeofenceDevice(geofence_id=fence.id, device_id=device_id))
        return fence.id


class Driver:
    """Feeds fixes through the stages as the worker would, without the bus or the store."""

    def __init__(self, device_id: uuid.UUID, book: FenceBook | None) -> None:
        self.device_id = device_id
        self.stages = build_stages(book)
        self.state = DeviceState()
        self.n = 0

    def fix(self, metres: float, *, speed: float = 30.0, seconds: float = 5.0,
            **extra: Any) -> list:
        self.n += 1
        lon, lat = away(metres)
        position = Position("osmand", "x", T0 + timedelta(seconds=self.n * seconds), lat, lon,
                            speed_kmh=speed, **extra)
        envelope = Envelope(self.device_id, position, T0, dedup=str(self.n))
        for _, stage in self.stages:
            assert stage(envelope, self.state, T0) is None
        return envelope.events


async def test_enter_and_exit_once_with_jitter_at_the_edge(services):
    device_id = await make_device(services, "osmand", "fence-1")
    fence_id = await add_fence(services, device_id, breach_on="exit")
    book = FenceBook(services.database)
    drive = Driver(device_id, book)
    assert drive.fix(1000) == []  # the book loads in the background: skipped
    await book.settle()
    kinds = []
    for metres in [900, 500, 150, 50, 0, 150, 195, 205, 196, 204, 199, 203, 500, 900]:
        kinds += [(e.type, e.urgent) for e in drive.fix(metres)]
    assert kinds == [("geofence_enter", False), ("geofence_exit", True)]
    [exit_event] = [e for e in drive.state.events.unsent] or [None]  # nothing failed
    assert exit_event is None
    assert drive.state.events.geofence.tracks[fence_id].inside is False


async def test_links_schedules_and_reload(services):
    device_id = await make_device(services, "osmand", "fence-2")
    other = await make_device(services, "osmand", "fence-3")
    await add_fence(services, other, link=True)  # a fence for another device only
    book = FenceBook(services.database)
    drive = Driver(device_id, book)
    drive.fix(1000)
    await book.settle()
    assert drive.fix(0) == []  # not this device's fence
    async with services.database.session() as db:
        device = await db.get(Device, device_id)
        organization_id = device.organization_id
    await add_fence(services, device_id, radius=300)  # same organisation, every device
    book.fences_changed(organization_id)
    await book.settle()
    assert [e.type for e in drive.fix(0)] == ["geofence_enter"]


async def test_overspeed_by_fence_limit_after_minimum_duration(services):
    device_id = await make_device(services, "osmand", "speed-1", {"speed_limit_kmh": 90})
    await add_fence(services, device_id, radius=2000, speed=30)
    book = FenceBook(services.database)
    drive = Driver(device_id, book)
    drive.fix(5000, speed=80)
    await book.settle()
    assert [e.type for e in drive.fix(5000, speed=100)] == []  # device limit 90: too short
    assert [e.type for e in drive.fix(5000, speed=100)] == []
    fired = drive.fix(5000, speed=100)  # 10 s over 90
    assert [(e.type, e.attributes["limit_source"]) for e in fired] == [("overspeed", "device")]
    drive.fix(5000, speed=20)
    seen = []
    for speed in [40, 40, 40, 40]:
        seen += drive.fix(0, speed=speed)
    assert [e.type for e in seen] == ["geofence_enter", "overspeed"]
    assert seen[1].attributes["limit_kmh"] == 30


async def test_a_restart_does_not_enter_again(services):
    device_id = await make_device(services, "osmand", "restart-1")
    fence_id = await add_fence(services, device_id)
    async with services.database.session() as db:
        device = await db.get(Device, device_id)
        db.add(Event(organization_id=device.organization_id, device_id=device_id,
                     type="geofence_enter", time=T0, cause="geofence_enter:x", created_at=T0,
                     attributes={"fence_id": str(fence_id)}))
    book = FenceBook(services.database)
    drive = Driver(device_id, book)
    drive.fix(0)
    await book.settle()
    assert drive.fix(0) == [] and drive.fix(10) == []
    assert [e.type for e in drive.fix(800)] == ["geofence_exit"]


async def test_alarms_ignition_motion_without_a_book():
    drive = Driver(uuid.uuid4(), None)
    first = drive.fix(0, speed=0, alarms=("sos",), attributes={"ignition": False})
    assert [(e.type, e.urgent, e.attributes.get("alarm")) for e in first] == [
        ("alarm", True, "sos")]
    later = drive.fix(0, speed=40, alarms=("sos", "hard_braking"),
                      attributes={"ignition": True})  # the motion stage says "moving" now
    assert [e.type for e in later] == ["harsh_braking", "ignition_on", "motion_start"]


async def test_events_of_a_failed_write_ride_on_the_next_fix():
    drive = Driver(uuid.uuid4(), None)
    loop = asyncio.get_running_loop()
    lon, lat = away(0)
    envelope = Envelope(drive.device_id, Position("osmand", "x", T0, lat, lon, alarms=("sos",)),
                        T0, "a", loop.create_future())
    for _, stage in drive.stages:
        stage(envelope, drive.state, T0)
    assert [e.type for e in envelope.events] == ["alarm"]
    envelope.settle(RuntimeError("database down"))
    await asyncio.sleep(0)
    again = drive.fix(0)
    assert again[0].cause == envelope.events[0].cause  # the same cause: at most one row


# A real terminal over TCP, through Ingest, with the API reading the events.

def location(lat: float, lon: float, when: datetime, *, speed: float = 30.0,
             alarm: int = 0) -> bytes:
    status = 0x2 | 0x1  # fixed, ignition on
    bcd = (when + timedelta(hours=8)).strftime("%y%m%d%H%M%S")
    return struct.pack(">IIIIHHH", alarm, status, round(lat * 1e6), round(lon * 1e6), 12,
                       round(speed * 10), 90) + bytes.fromhex(bcd)


@asynccontextmanager
async def ingest_with_events(services) -> AsyncIterator[tuple[Ingest, int]]:  # type: ignore[no-untyped-def]
    port = free_port()
    settings = services.settings.model_copy(
        update={**OFF, "http_host": "127.0.0.1", "jt808_port": port})
    ingest = Ingest.build(dataclasses.replace(services, settings=settings))
    book = FenceBook(services.database)
    ingest.worker.stages = build_stages(book)
    services.fence_listeners.append(book.fences_changed)
    services.device_listeners.append(book.device_changed)
    await book.warm()  # what the composition root does before the gateways open
    await ingest.start()
    try:
        yield ingest, port
    finally:
        await ingest.stop()
        await book.settle()


async def _events(client, headers, kind):  # type: ignore[no-untyped-def]
    answer = await client.get("/api/v1/events", headers=headers, params={"type": kind})
    assert answer.status_code == 200, answer.text
    return answer.json()


async def _more(listing, than):  # type: ignore[no-untyped-def]
    found = await listing
    return found if len(found) > than else []


async def _within(seconds, probe):  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        found = await probe()
        if found or asyncio.get_running_loop().time() > deadline:
            return found
        await asyncio.sleep(0.02)


async def test_jt808_terminal_leaves_and_enters_a_circle(services):
    phone = "013800138000"
    async with geofence_client(services) as client:
        headers, _ = await sign_up(client, services, "fence-e2e@example.com")
        device = (await client.post("/api/v1/devices", headers=headers, json={
            "name": "Van", "unique_id": phone, "protocol": "jt808",
            "attributes": {"speed_limit_kmh": 80}})).json()
        fence = await client.post("/api/v1/geofences", headers=headers, json={
            "name": "Depot", "area": {"type": "Point", "coordinates": list(CENTRE)},
            "radius_m": 200, "breach_on": "exit"})
        assert fence.status_code == 201, fence.text
        async with ingest_with_events(services) as (_ingest, port):
            terminal = await Terminal(phone).connect(port)
            await terminal.login()
            start = (datetime.now(UTC) - timedelta(minutes=30)).replace(microsecond=0)
            n = 0

            async def send(metres: float, **extra: Any) -> None:
                nonlocal n
                n += 1
                lon, lat = away(metres)
                await terminal.send(0x0200, location(lat, lon, start + timedelta(seconds=5 * n),
                                                     **extra))
                message_id, _ = await terminal.reply()
                assert message_id == 0x8001

            for metres in [0, 20, 50]:  # parked in the depot: its first fix enters it
                await send(metres)
            first = await _within(1.0, lambda: _events(client, headers, "geofence_enter"))
            assert len(first) == 1
            for metres in [190, 206, 195, 207, 198]:  # wandering on the edge: no flapping
                await send(metres)
            assert await _events(client, headers, "geofence_exit") == []
            sent = asyncio.get_running_loop().time()
            await send(400)  # gone
            exits = await _within(1.0, lambda: _events(client, headers, "geofence_exit"))
            took = asyncio.get_running_loop().time() - sent
            assert len(exits) == 1, exits
            assert took < 1.0
            assert exits[0]["urgent"] is True and exits[0]["device_id"] == device["id"]
            assert exits[0]["attributes"]["fence_id"] == fence.json()["id"]
            for metres in [600, 800]:
                await send(metres)
            await send(50)  # back in
            enters = await _within(
                1.0, lambda: _more(_events(client, headers, "geofence_enter"), 1))
            assert len(enters) == 2 and enters[0]["urgent"] is False  # newest first
            assert len(await _events(client, headers, "geofence_exit")) == 1

            for _ in range(4):  # 100 km/h over 15 s against the device's 80
                await send(60, speed=100)
            speeding = await _within(1.0, lambda: _events(client, headers, "overspeed"))
            assert len(speeding) == 1 and speeding[0]["attributes"]["limit_kmh"] == 80

            await send(60, alarm=1)  # the SOS bit
            sos = await _within(1.0, lambda: _events(client, headers, "alarm"))
            assert [(e["attributes"]["alarm"], e["urgent"]) for e in sos] == [("sos", True)]
            terminal.close()

    async with services.database.session() as db:
        stored = list(await db.scalars(select(Event.type).where(
            Event.device_id == uuid.UUID(device["id"])).order_by(Event.time)))
    assert stored.count("geofence_exit") == 1 and stored.count("geofence_enter") == 2
