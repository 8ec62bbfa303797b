"""JT/T 808 0x0801 photos over real TCP into the media library, acknowledged once committed."""

from __future__ import annotations

import asyncio
import struct
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from camtel.accounts.models import Membership
from camtel.devices.models import Device
from camtel.media import cleanup, device_media
from camtel.media.models import Media
from camtel.privacy import erasure
from helpers.accounts import sign_up
from helpers.env import free_port
from helpers.ingest import Terminal, location_body, make_device, running_ingest, xor
from helpers.media import jpeg, media_world, settled

PHONE = "013912340801"


def _handler(services):  # type: ignore[no-untyped-def]
    """The device media handler as `camtel.app` wires it."""
    return device_media.handler(services.database, lambda: services.media, services.clock)


@pytest.fixture
async def world(services):
    async with media_world(services) as made:
        yield made


def recent() -> datetime:
    return (datetime.now(UTC) - timedelta(minutes=5)).replace(microsecond=0)


def bcd(utc: datetime) -> str:
    return (utc + timedelta(hours=8)).strftime("%y%m%d%H%M%S")


def part_frame(body: bytes, phone: str, serial: int, total: int, index: int) -> bytes:
    """One sub-package (properties bit 13, then total and index after the serial) of 0x0801."""
    header = struct.pack(">HH", 0x0801, len(body) | 1 << 13) + bytes.fromhex(phone)
    data = header + struct.pack(">HHH", serial, total, index) + body
    raw = data + bytes([xor(data)])
    return b"\x7e" + raw.replace(b"\x7d", b"\x7d\x01").replace(b"\x7e", b"\x7d\x02") + b"\x7e"


def media_body(media_id: int, photo: bytes, fix: datetime, channel: int = 1) -> bytes:
    """0x0801: id, type 0 (photo), format 0 (JPEG), event 1 (timed), channel, location, data."""
    return (
        struct.pack(">IBBBB", media_id, 0, 0, 1, channel)
        + bytes.fromhex(location_body(22.54321, 114.05789, bcd(fix)).hex())
        + photo
    )


async def send_in_two(terminal: Terminal, body: bytes) -> None:
    """Two sub-packages with consecutive serials, written separately."""
    half = len(body) // 2
    first = terminal.serial + 1
    terminal.serial += 2
    assert terminal.writer is not None
    for index, piece in ((1, body[:half]), (2, body[half:])):
        terminal.writer.write(part_frame(piece, terminal.phone, first + index - 1, 2, index))
        await terminal.writer.drain()


async def rows(services, device_id=None):  # type: ignore[no-untyped-def]
    async with services.database.session() as db:
        query = select(Media)
        if device_id is not None:
            query = query.where(Media.device_id == device_id)
        return list(await db.scalars(query))


async def fleet_device(world, email: str) -> tuple[dict[str, str], str, str]:  # type: ignore[no-untyped-def]
    headers, user_id = await sign_up(world.http, world.services, email)
    made = await world.http.post(
        "/api/v1/devices",
        headers=headers,
        json={
            "name": "Van",
            "unique_id": PHONE,
            "protocol": "jt808",
            "attributes": {"media_channels": {"1": "front"}},
        },
    )
    assert made.status_code == 201, made.text
    return headers, user_id, made.json()["id"]


async def no_reply(terminal: Terminal, seconds: float = 0.5) -> None:
    try:
        reply = await asyncio.wait_for(terminal.reply(), seconds)
    except TimeoutError:
        return
    raise AssertionError(f"unexpected reply {reply}")


async def test_photo_lands_in_the_library_acknowledged_after_commit(world, services):
    headers, _, device_id = await fleet_device(world, "fleet-media@example.com")
    photo, fix = jpeg(), recent()
    body = media_body(7, photo, fix)
    assert len(body) > 200, "big enough to split"
    port = free_port()
    async with running_ingest(services, jt808_port=port) as ingest:
        inner = _handler(services)
        gate = asyncio.Event()

        async def held(device, chunk):  # type: ignore[no-untyped-def]
            await inner(device, chunk)  # stored and committed...
            await gate.wait()  # ...and held here: no 0x8800 may go out meanwhile

        ingest.sink.media_handler = held
        terminal = await Terminal(PHONE).connect(port)
        await terminal.login()
        await send_in_two(terminal, body)
        message_id, ack = await terminal.reply()
        assert message_id == 0x8001 and struct.unpack(">HHB", ack)[1:] == (0x0801, 0)
        # The handler stores and commits, then is held: the row becomes visible to another
        # session while no 0x8800 goes out (the store may wait for SQLite's write lock).
        for _ in range(200):
            found = await rows(services)
            if found:
                break
            await asyncio.sleep(0.05)
        [row] = found  # committed: visible to another session
        await no_reply(terminal)
        assert row.size == len(photo) and str(row.device_id) == device_id
        gate.set()
        replies = [await terminal.reply() for _ in range(2)]
        assert [r[0] for r in replies] == [0x8001, 0x8800]
        assert struct.unpack(">IB", replies[1][1][:5]) == (7, 0)

        # A resend of the same file (the 0x8800 was lost): acknowledged, stored once.
        ingest.sink.media_handler = inner
        await send_in_two(terminal, body)
        replies = [await terminal.reply() for _ in range(3)]
        assert [r[0] for r in replies] == [0x8001, 0x8001, 0x8800]
        terminal.close()
        assert ingest.stats()["sink"]["media_stored"] == 2
    assert len(await rows(services)) == 1

    listed = await world.http.get("/api/v1/media", headers=headers, params={"device_id": device_id})
    assert listed.status_code == 200, listed.text
    [item] = listed.json()
    body_out = await settled(world.http, headers, item["id"])
    assert body_out["status"] == "ready", body_out
    assert body_out["kind"] == "photo" and body_out["channel"] == "front"
    assert body_out["device_id"] == device_id and body_out["content_type"] == "image/jpeg"
    assert body_out["track_points"] == 1, "the 0x0801 location kept as a one-point track"
    assert datetime.fromisoformat(body_out["start_time"]) == fix
    assert body_out["category"] == "event" and body_out["has_thumbnail"]
    content = await world.http.get(f"/api/v1/media/{item['id']}/content", headers=headers)
    assert content.status_code == 200 and content.content == photo
    geo = await world.http.get(f"/api/v1/media/{item['id']}/track.geojson", headers=headers)
    assert geo.status_code == 200, geo.text
    assert "114.05789" in geo.text and "22.54321" in geo.text

    stranger, _ = await sign_up(world.http, world.services, "other-org@example.com")
    assert (
        await world.http.get(f"/api/v1/media/{item['id']}", headers=stranger)
    ).status_code == 404
    assert (
        await world.http.get(f"/api/v1/media/{item['id']}/content", headers=stranger)
    ).status_code == 404
    others = await world.http.get("/api/v1/media", headers=stranger)
    assert item["id"] not in others.text


async def test_unknown_or_ownerless_device_media_is_not_stored(world, services):
    await make_device(services, "jt808", "013900000808")  # an organisation with no members
    port = free_port()
    async with running_ingest(services, jt808_port=port) as ingest:
        ingest.sink.media_handler = _handler(services)
        stranger = await Terminal("013900000809").connect(port)
        await send_in_two(stranger, media_body(1, jpeg(), recent()))
        await no_reply(stranger)
        stranger.close()
        ownerless = await Terminal("013900000808").connect(port)
        await send_in_two(ownerless, media_body(2, jpeg(), recent()))
        assert (await ownerless.reply())[0] == 0x8001, "the first package is taken"
        await no_reply(ownerless)  # the whole file is not: the device keeps it
        ownerless.close()
        assert ingest.stats()["sink"]["media_failed"] == 1
    assert await rows(services) == []


async def test_without_a_handler_media_is_dropped_as_before(services):
    await make_device(services, "jt808", PHONE)
    port = free_port()
    async with running_ingest(services, jt808_port=port) as ingest:
        terminal = await Terminal(PHONE).connect(port)
        await send_in_two(terminal, media_body(3, jpeg(), recent()))
        assert [(await terminal.reply())[0] for _ in range(3)] == [0x8001, 0x8001, 0x8800]
        terminal.close()
        assert ingest.stats()["sink"]["media_dropped"] == 1
    assert await rows(services) == []


async def _store_one(services, device_id: uuid.UUID, photo: bytes) -> Media:  # type: ignore[no-untyped-def]
    from camtel.gateways.registry import DeviceRef
    from camtel.messages import MediaChunk

    chunk = MediaChunk("jt808", PHONE, 9, "photo", "jpeg", 1, 0, photo)
    media, made = await device_media.store(
        services.database,
        services.media,
        device=DeviceRef(device_id, "jt808", PHONE),
        chunk=chunk,
        now=services.clock(),
    )
    assert made
    return media


async def _erase(services, user_id: str) -> None:  # type: ignore[no-untyped-def]
    now = services.clock()
    async with services.database.session() as db:
        request = await erasure.request_erasure(db, user_id=uuid.UUID(user_id), now=now)
    hook = cleanup.erasure_hook(services.media)
    await erasure.execute(services.database, request_id=request.id, now=now, hooks=[hook])


async def test_erasing_the_owner_keeps_the_fleet_photos(world, services):
    first, first_id, device_id = await fleet_device(world, "first-owner@example.com")
    second, second_id = await sign_up(world.http, services, "second-owner@example.com")
    async with services.database.session() as db:
        org = (await db.get(Device, uuid.UUID(device_id))).organization_id
        db.add(
            Membership(
                user_id=uuid.UUID(second_id),
                organization_id=org,
                role="owner",
                created_at=services.clock() + timedelta(seconds=1),
            )
        )
    photo = jpeg()
    media = await _store_one(services, uuid.UUID(device_id), photo)
    assert str(media.owner_id) == first_id, "the oldest owner"
    await settled(world.http, first, str(media.id))

    await _erase(services, first_id)
    [kept] = await rows(services)
    assert str(kept.owner_id) == second_id and kept.id == media.id
    assert kept.storage_key != media.storage_key
    content = await world.http.get(f"/api/v1/media/{media.id}/content", headers=second)
    assert content.status_code == 200 and content.content == photo, "re-encrypted, readable"
    thumb = await world.http.get(f"/api/v1/media/{media.id}/thumbnail", headers=second)
    assert thumb.status_code == 200 and thumb.content.startswith(b"\xff\xd8")
    stored = {str(p) for p in (services.settings.data_dir / "media").rglob("*") if p.is_file()}
    assert not any(first_id in p for p in stored), "nothing left under the erased person"


async def test_erasing_the_sole_member_erases_the_fleet_photos(world, services):
    _, user_id, device_id = await fleet_device(world, "alone@example.com")
    await _store_one(services, uuid.UUID(device_id), jpeg())
    await _erase(services, user_id)
    assert await rows(services) == []


async def test_photo_parts_interleaved_with_reports_and_a_heartbeat(world, services):
    """A dash cam keeps reporting while it uploads: the parts of its photo arrive with
    0x0200 reports and a heartbeat in between, all from one serial counter."""
    headers, _, device_id = await fleet_device(world, "interleaved@example.com")
    photo, fix = jpeg((160, 120)), recent()
    body = media_body(11, photo, fix)
    size = -(-len(body) // 4)
    pieces = [body[i * size : (i + 1) * size] for i in range(4)]
    port = free_port()
    async with running_ingest(services, jt808_port=port) as ingest:
        ingest.sink.media_handler = _handler(services)
        terminal = await Terminal(PHONE).connect(port)
        await terminal.login()
        assert terminal.writer is not None
        sent: list[tuple[int, int]] = []  # (serial, message id) in the order written
        for index, piece in enumerate(pieces, 1):
            terminal.serial += 1
            terminal.writer.write(part_frame(piece, PHONE, terminal.serial, 4, index))
            sent.append((terminal.serial, 0x0801))
            if index == 2:
                sent.append((await terminal.send(0x0002, b""), 0x0002))
            elif index < 4:
                when = fix + timedelta(seconds=index)
                report = location_body(22.54321 + index / 1000, 114.05789, bcd(when))
                sent.append((await terminal.send(0x0200, report), 0x0200))
        replies = [await terminal.reply() for _ in range(len(sent) + 1)]
        terminal.close()
        assert ingest.stats()["sink"]["media_stored"] == 1

    acks = [struct.unpack(">HHB", ack) for message_id, ack in replies[:-1]]
    assert [r[0] for r in replies] == [0x8001] * len(sent) + [0x8800]
    assert acks == [(serial, message_id, 0) for serial, message_id in sent], "each, in order"
    assert struct.unpack(">IB", replies[-1][1][:5]) == (11, 0)

    positions = await world.http.get(f"/api/v1/devices/{device_id}/positions", headers=headers)
    assert positions.status_code == 200, positions.text
    assert [p["latitude"] for p in positions.json()] == [22.54421, 22.54621], "both reports"
    [item] = (
        await world.http.get("/api/v1/media", headers=headers, params={"device_id": device_id})
    ).json()
    content = await world.http.get(f"/api/v1/media/{item['id']}/content", headers=headers)
    assert content.status_code == 200 and content.content == photo, "joined byte for byte"
