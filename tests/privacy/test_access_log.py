"""The access log (P24): sign-ins and device connections with keyed-hash addresses, shown to
the person, exported, erased, swept after 30 days; on both engines, with real components."""

from __future__ import annotations

import io
import json
import logging
import struct
import uuid
import zipfile
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select, text

from camtel.accounts.models import User
from camtel.app import build_api
from camtel.db.engine import Database
from camtel.devices.models import Position
from camtel.privacy.access_log import (
    DeviceAccessLog,
    address_hash,
    client_summary,
    failure_reason,
    host_of,
    reported_text,
)
from camtel.privacy.diagnostics import load_key, pseudonym
from camtel.privacy.models import AccessLogEntry, DeviceAccessEntry
from camtel.privacy.retention import sweep
from helpers.accounts import PASSWORD, sign_up
from helpers.env import free_port
from helpers.ingest import Terminal, location_body, make_device, running_ingest

ADDRESS = "198.51.100.23"
FIREFOX = "Mozilla/5.0 (Android 14; Mobile; rv:128.0) Gecko/128.0 Firefox/128.0"
PHONE = "013912345678"


# --- pure parts --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("agent", "summary"),
    [
        (FIREFOX, "Firefox on Android"),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Safari/537.36",
            "Chrome on Windows",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87",
            "Edge on Windows",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
            "Safari on iOS",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.5 Safari/605.1.15",
            "Safari on macOS",
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
            "Firefox on Linux",
        ),
        ("camtel-app/2.3.1 (Android 14; Pixel 7)", "camtel-app 2.3.1 on Android"),
        ("curl/8.5.0", "curl 8.5.0"),
        ("python-httpx/0.27.0", "python-httpx 0.27.0"),
        ("Mozilla/5.0 (compatible; SomeBot/1.0)", "other browser"),
        ("", ""),
        (None, ""),
        ("   ", ""),
        ("(no product)", ""),
    ],
)
def test_client_summary(agent, summary):
    assert client_summary(agent) == summary


def test_client_summary_is_short_and_never_the_whole_agent():
    long = "A" * 300 + "/" + "9" * 300 + " (Linux; Android 14; SM-S918B Build/UP1A.231005.007)"
    summary = client_summary(long)
    assert len(summary) <= 64
    assert "SM-S918B" not in client_summary("Mozilla/5.0 (Linux; Android 14; SM-S918B) Chrome/1")


def test_host_of_normalises_addresses():
    assert host_of("198.51.100.23") == "198.51.100.23"
    assert host_of(("198.51.100.23", 5555)) == "198.51.100.23"
    assert host_of(("2001:DB8:0:0::1", 5555, 0, 0)) == "2001:db8::1"
    assert host_of("::ffff:198.51.100.23") == "198.51.100.23", "IPv4-mapped is the IPv4"
    assert host_of("fe80::1%eth0") == "fe80::1"
    assert host_of(None) is host_of("unknown") is host_of("") is host_of(()) is None


def test_address_hash_is_keyed():
    key, other = b"k" * 32, b"o" * 32
    digest = address_hash(key, ADDRESS)
    assert digest == pseudonym(key, "address", ADDRESS) == address_hash(key, (ADDRESS, 1))
    assert digest != address_hash(other, ADDRESS), "useless without the key"
    assert ADDRESS not in digest and len(digest) == 64
    assert address_hash(key, None) is None


def test_reported_text_is_printable_and_short():
    assert reported_text("CAMTL\x00\x00 DC-1\n") == "CAMTL DC-1"
    assert len(reported_text("x" * 200)) == 64


def test_failure_reason():
    from camtel.errors import Forbidden, Unauthorized

    assert failure_reason(Unauthorized("wrong email or password")) == "password"
    assert failure_reason(Unauthorized("code", code="otp_required")) == "otp_required"
    assert failure_reason(Forbidden("confirm", code="email_unverified")) == "email_unverified"
    assert failure_reason(Unauthorized("x", code="something_else")) == "password"


# --- people --------------------------------------------------------------------------------


def _client_from(services, address: str) -> httpx.AsyncClient:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=build_api(services), client=(address, 40123))
    return httpx.AsyncClient(
        transport=transport, base_url="https://testserver", headers={"user-agent": FIREFOX}
    )


async def _rows(services, model, **where):  # type: ignore[no-untyped-def]
    async with services.database.session() as db:
        query = select(model).filter_by(**where).order_by(model.time, model.id)
        return list(await db.scalars(query))


async def test_sign_ins_are_logged_with_hashed_addresses(client, services, caplog):
    caplog.set_level(logging.DEBUG)
    email = "sign-ins@example.com"
    await sign_up(client, services, email)  # signs in once from the test client's address
    async with _client_from(services, ADDRESS) as phone:
        creds = {"email": email, "password": PASSWORD}
        token = await phone.post("/api/v1/auth/token", json=creds)
        assert token.status_code == 200, token.text
        web = await phone.post("/api/v1/auth/session", json=creds)
        assert web.status_code == 200, web.text
        wrong = await phone.post("/api/v1/auth/token", json={**creds, "password": "not it!!"})
        assert wrong.status_code == 401
        stranger = await phone.post(
            "/api/v1/auth/token", json={"email": "nobody@example.com", "password": "whatever1"}
        )
        assert stranger.status_code == 401
        await services.background.settle()

        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        answer = await phone.get("/api/v1/me/access-log", headers=headers)
        assert answer.status_code == 200, answer.text
        listed = answer.json()
        assert [(e["kind"], e["channel"], e["reason"]) for e in listed] == [
            ("sign_in_failed", "api", "password"),
            ("sign_in", "web", ""),
            ("sign_in", "api", ""),
            ("sign_in", "api", ""),
        ], "newest first; the unknown address left no row"
        assert [e["same_address_as_now"] for e in listed] == [True, True, True, False]
        assert [e["client"] for e in listed[:3]] == ["Firefox on Android"] * 3
        assert listed[3]["client"].startswith("python-httpx ")
        assert "address_hash" not in listed[0], "the hash stays inside camtel"

        first = await phone.get("/api/v1/me/access-log", headers=headers, params={"limit": 3})
        assert [e["id"] for e in first.json()] == [e["id"] for e in listed[:3]]
        rest = await phone.get(first.links["next"]["url"], headers=headers)
        assert [e["id"] for e in rest.json()] == [listed[3]["id"]]
        assert "next" not in rest.links

    rows = await _rows(services, AccessLogEntry)
    assert len(rows) == 4
    key = load_key(services.settings.data_dir)
    assert {r.address_hash for r in rows} == {
        pseudonym(key, "address", ADDRESS),
        pseudonym(key, "address", "127.0.0.1"),
    }
    for row in rows:
        stored = " ".join(str(getattr(row, c.key)) for c in AccessLogEntry.__table__.c)
        assert ADDRESS not in stored and "127.0.0.1" not in stored and "rv:128" not in stored
    assert ADDRESS not in caplog.text and email not in caplog.text, "no address or email logged"

    if services.database.dialect == "sqlite":
        async with services.database.session() as db:
            await db.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        await services.database.dispose()
        raw = b"".join(p.read_bytes() for p in services.settings.data_dir.glob("camtel.db*"))
        assert pseudonym(key, "address", ADDRESS).encode() in raw, "the scan sees the rows"
        assert ADDRESS.encode() not in raw and b"rv:128.0" not in raw


async def test_unconfirmed_account_failing_to_sign_in_is_logged(client, services):
    email = "unconfirmed@example.com"
    made = await client.post(
        "/api/v1/auth/register",
        json={"email": email, "phone": "+4915123456780", "password": PASSWORD},
    )
    assert made.status_code == 202, made.text
    refused = await client.post("/api/v1/auth/session", json={"email": email, "password": PASSWORD})
    assert refused.status_code == 403
    await services.background.settle()
    async with services.database.session() as db:
        user_id = await db.scalar(select(User.id).where(User.email == email))
    [row] = await _rows(services, AccessLogEntry, user_id=user_id)
    assert (row.kind, row.channel, row.reason) == ("sign_in_failed", "web", "email_unverified")


# --- devices -------------------------------------------------------------------------------


def bcd(utc: datetime, offset_hours: float = 8) -> str:
    return (utc + timedelta(hours=offset_hours)).strftime("%y%m%d%H%M%S")


async def _drive(port: int, fixes: int, minutes_ago: int = 30) -> None:
    """One terminal connection: register, authenticate, `fixes` acknowledged positions."""
    terminal = await Terminal(PHONE).connect(port)
    await terminal.login()
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=minutes_ago)
    for n in range(fixes):
        when = start + timedelta(seconds=10 * n)
        serial = await terminal.send(0x0200, location_body(22.5432 + n / 1e4, 114.0578, bcd(when)))
        message_id, body = await terminal.reply()
        assert (message_id, struct.unpack(">HHB", body)) == (0x8001, (serial, 0x0200, 0))
    terminal.close()
    assert await terminal.closed()


async def test_a_jt808_connection_is_one_row_with_the_registered_model(services):
    device_id = await make_device(services, "jt808", PHONE)
    port = free_port()
    async with running_ingest(services, jt808_port=port) as ingest:
        recorder = ingest.sink.access_log  # made by Ingest.start, as in `camtel serve`
        assert isinstance(recorder, DeviceAccessLog)
        await _drive(port, fixes=3)
        await recorder.flush()
        [row] = await _rows(services, DeviceAccessEntry)
        assert (row.device_id, row.kind, row.protocol) == (device_id, "device_connect", "jt808")
        assert row.model == "CAMTL DC-1", "manufacturer and model from the 0x0100 registration"
        key = load_key(services.settings.data_dir)
        assert row.address_hash == pseudonym(key, "address", "127.0.0.1")
        # A device reconnecting at once (a loop, or a hostile one) is noted once a minute.
        await _drive(port, fixes=1, minutes_ago=20)
        await recorder.flush()
        assert len(await _rows(services, DeviceAccessEntry)) == 1
        assert recorder.counters["throttled"] == 1
        recorder.min_gap_s = 0.0  # as if the minute had passed
        await _drive(port, fixes=1, minutes_ago=40)
        await recorder.flush()
        assert len(await _rows(services, DeviceAccessEntry)) == 2, "one row per connection"
        assert recorder.counters["written"] == 2
        assert ingest.stats()["access_log"]["written"] == 2
    async with services.database.session() as db:
        assert await db.scalar(select(func.count()).select_from(Position)) == 5


async def test_a_broken_access_log_does_not_break_the_device_session(services, tmp_path):
    await make_device(services, "jt808", PHONE)
    # A real database without the table: every write fails as a missing table would.
    broken = Database(f"sqlite+aiosqlite:///{tmp_path / 'no-tables.db'}")
    port = free_port()
    try:
        async with running_ingest(services, jt808_port=port) as ingest:
            recorder = ingest.sink.access_log = DeviceAccessLog(broken, key=b"k" * 32)
            await _drive(port, fixes=2)  # every position acknowledged: the session went on
            await recorder.flush()
            assert recorder.counters["failed"] == 1 and recorder.counters["written"] == 0
            await _drive(port, fixes=1, minutes_ago=20)  # and the next connection is served too
            await recorder.stop()
    finally:
        await broken.dispose()
    async with services.database.session() as db:
        assert await db.scalar(select(func.count()).select_from(Position)) == 3
    assert await _rows(services, DeviceAccessEntry) == []


async def test_osmand_requests_are_noted_once_per_device_per_throttle(services):
    device_id = await make_device(services, "osmand", "phone-31")
    port = free_port()
    when = int((datetime.now(UTC) - timedelta(minutes=5)).timestamp())
    async with running_ingest(services, osmand_port=port) as ingest:
        recorder = ingest.sink.access_log = DeviceAccessLog.in_data_dir(
            services.database, services.settings.data_dir, clock=services.clock
        )
        agent = {"user-agent": "TraccarClient/8.1 (Android 14)"}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=agent) as http:
            for n in range(3):
                params = {
                    "id": "phone-31",
                    "lat": "52.52",
                    "lon": "13.405",
                    "timestamp": str(when + n),
                }
                assert (await http.post("/", params=params)).status_code == 200
        await recorder.stop()
        assert recorder.counters["throttled"] == 2
    [row] = await _rows(services, DeviceAccessEntry)
    assert (row.device_id, row.protocol) == (device_id, "osmand")
    assert row.model == "TraccarClient 8.1 on Android"


# --- retention, export, erasure ----------------------------------------------------------


async def test_sweeper_removes_rows_older_than_30_days(client, services):
    _, user_id = await sign_up(client, services, "sweep-access@example.com")
    device_id = await make_device(services, "osmand", "phone-32")
    now = datetime.now(UTC)
    async with services.database.session() as db:
        for age in (31, 29):
            db.add(
                AccessLogEntry(
                    user_id=uuid.UUID(user_id),
                    time=now - timedelta(days=age),
                    kind="sign_in",
                    channel="api",
                    client=f"age {age}",
                )
            )
            db.add(
                DeviceAccessEntry(
                    device_id=device_id,
                    time=now - timedelta(days=age),
                    kind="device_connect",
                    protocol="osmand",
                    model=f"age {age}",
                )
            )
    async with services.database.session() as db:
        counts = await sweep(db, now=now)
    assert counts["access_log"] == 1 and counts["device_access_log"] == 1
    people = await _rows(services, AccessLogEntry)
    assert "age 31" not in {r.client for r in people}
    assert {"age 29"} <= {r.client for r in people}
    assert [r.model for r in await _rows(services, DeviceAccessEntry)] == ["age 29"]


async def test_export_holds_the_rows_and_erasure_removes_them(client, services):
    mine, my_id = await sign_up(client, services, "erase-access@example.com")
    other, other_id = await sign_up(client, services, "keep-access@example.com", "+4915123456781")
    devices = []
    for headers, unique_id in ((mine, "phone-41"), (other, "phone-42")):
        made = await client.post(
            "/api/v1/devices",
            headers=headers,
            json={"name": "Car", "unique_id": unique_id, "protocol": "osmand"},
        )
        assert made.status_code == 201, made.text
        devices.append(uuid.UUID(made.json()["id"]))
    recorder = DeviceAccessLog.in_data_dir(
        services.database, services.settings.data_dir, clock=services.clock
    )
    for device_id in devices:
        recorder.connected(device_id=device_id, protocol="osmand", peer=(ADDRESS, 1), model="M")
    await recorder.stop()

    archive = zipfile.ZipFile(
        io.BytesIO((await client.get("/api/v1/me/export", headers=mine)).content)
    )
    [signed_in] = json.loads(archive.read("data/access_log.json"))
    assert signed_in["user_id"] == my_id and signed_in["kind"] == "sign_in"
    [connected] = json.loads(archive.read("data/device_access_log.json"))
    assert connected["device_id"] == str(devices[0]) and connected["model"] == "M"
    assert b"access_log.json" in archive.read("README.md")

    assert (await client.delete("/api/v1/me", headers=mine)).json()["status"] == "done"
    assert await _rows(services, AccessLogEntry, user_id=uuid.UUID(my_id)) == []
    assert await _rows(services, DeviceAccessEntry, device_id=devices[0]) == []
    assert len(await _rows(services, AccessLogEntry, user_id=uuid.UUID(other_id))) == 1
    assert len(await _rows(services, DeviceAccessEntry, device_id=devices[1])) == 1
