"""P12, encrypted transmission from devices: JT/T 808 and Teltonika on their TLS ports, OsmAnd
over HTTPS and MQTT over TLS (`mqtts://`, against a real Mosquitto with a TLS listener). Each
one stores what an encrypted device sends; a device speaking plain bytes to a TLS port stores
nothing, and a TLS port needs a certificate before camtel starts."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import socket
import struct
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiomqtt
import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import select

from camtel.config import Settings
from camtel.devices.models import Position as Row
from helpers.env import free_port, missing
from helpers.ingest import Terminal, location_body, make_device, running_ingest
from helpers.tls import certificate, trusting

PHONE = "013912345678"
IMEI = "356307042441013"


def _recent() -> datetime:
    return (datetime.now(UTC) - timedelta(minutes=5)).replace(microsecond=0)


async def _rows(services, device_id, want: int = 1, timeout_s: float = 10.0):  # type: ignore[no-untyped-def]
    """The device's stored fixes, once there are `want` of them (or the time is up)."""
    rows: list[Row] = []
    for _ in range(int(timeout_s / 0.05)):
        async with services.database.session() as db:
            rows = list(await db.scalars(select(Row).where(Row.device_id == device_id)))
        if len(rows) >= want:
            break
        await asyncio.sleep(0.05)
    return rows


def test_a_tls_port_needs_a_certificate():
    with pytest.raises(ValidationError) as refused:
        Settings(jt808_tls_port=5016)
    assert "CAMTEL_JT808_TLS_PORT" in str(refused.value)
    assert "CAMTEL_TLS_CERT_FILE" in str(refused.value)


async def test_a_jt808_terminal_reports_over_tls_and_plain_bytes_store_nothing(
    services, tmp_path
):
    cert, key = certificate(tmp_path)
    device_id = await make_device(services, "jt808", PHONE)
    port = free_port()
    async with running_ingest(
        services, jt808_tls_port=port, tls_cert_file=cert, tls_key_file=key
    ) as ingest:
        # Plain JT/T 808 bytes on the TLS port are a failed handshake, never a report.
        plain = await Terminal(PHONE).connect(port)
        await plain.send(0x0100, b"\x00" * 40)
        assert await plain.closed(), "the TLS port drops a client that does not speak TLS"
        terminal = await Terminal(PHONE).connect(port, tls=trusting(cert))
        await terminal.login()
        when = _recent()
        bcd = (when + timedelta(hours=8)).strftime("%y%m%d%H%M%S")
        await terminal.send(0x0200, location_body(22.5, 114.0, bcd))
        message_id, body = await terminal.reply()
        assert message_id == 0x8001 and body[4] == 0, "acknowledged once stored"
        terminal.close()
        assert ingest.readiness()["jt808-tls"]()
    rows = await _rows(services, device_id)
    assert [(r.time, r.latitude, r.longitude) for r in rows] == [(when, 22.5, 114.0)]


def _codec8(when: datetime) -> bytes:
    """One Teltonika Codec 8 record (built from the protocol's layout), in its TCP packet."""
    record = (
        struct.pack(">Q", int(when.timestamp() * 1000))
        + b"\x01"  # priority
        + struct.pack(">iihHBH", int(25.3 * 1e7), int(54.7 * 1e7), 120, 90, 9, 36)
        + b"\x00\x00"  # event io id, total io count
        + b"\x00" * 4  # no 1-, 2-, 4- or 8-byte elements
    )
    data = b"\x08\x01" + record + b"\x01"
    crc = 0
    for byte in data:  # CRC-16/IBM, as the devices compute it
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return b"\x00\x00\x00\x00" + struct.pack(">I", len(data)) + data + struct.pack(">I", crc)


async def test_a_teltonika_device_reports_over_tls(services, tmp_path):
    cert, key = certificate(tmp_path)
    device_id = await make_device(services, "teltonika", IMEI)
    port = free_port()
    async with running_ingest(
        services, teltonika_tls_port=port, tls_cert_file=cert, tls_key_file=key
    ):
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=trusting(cert), server_hostname="localhost"
        )
        writer.write(struct.pack(">H", len(IMEI)) + IMEI.encode())
        await writer.drain()
        assert await asyncio.wait_for(reader.readexactly(1), 5) == b"\x01", "IMEI accepted"
        when = _recent()
        writer.write(_codec8(when))
        await writer.drain()
        count = struct.unpack(">I", await asyncio.wait_for(reader.readexactly(4), 5))[0]
        assert count == 1, "one record acknowledged"
        writer.close()
    rows = await _rows(services, device_id)
    assert [(r.time, r.latitude, r.longitude) for r in rows] == [(when, 54.7, 25.3)]


async def test_osmand_reports_over_https(services, tmp_path):
    cert, key = certificate(tmp_path)
    device_id = await make_device(services, "osmand", "phone-7")
    port = free_port()
    when = _recent()
    async with running_ingest(
        services, osmand_tls_port=port, tls_cert_file=cert, tls_key_file=key
    ):
        params = {"id": "phone-7", "lat": 48.2, "lon": 16.37, "timestamp": int(when.timestamp())}
        async with httpx.AsyncClient(verify=trusting(cert)) as http:
            answer = await http.get(f"https://127.0.0.1:{port}/", params=params)
        assert answer.status_code == 200, answer.text
        with pytest.raises(httpx.HTTPError):  # the same port does not answer plain HTTP
            async with httpx.AsyncClient() as http:
                await http.get(f"http://127.0.0.1:{port}/", params=params, timeout=5)
    rows = await _rows(services, device_id)
    assert [(r.time, r.latitude, r.longitude) for r in rows] == [(when, 48.2, 16.37)]


@contextlib.contextmanager
def _mosquitto_over_tls(folder: Path, cert: Path, key: Path) -> Iterator[int]:
    """A Mosquitto broker of its own with one TLS listener (the shared one speaks plain)."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(binary).exists():
        missing("mosquitto not installed (apt-get install mosquitto)")
    port = free_port()
    config = folder / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\n"
        f"certfile {cert}\nkeyfile {key}\npersistence false\n"
        # As root, Mosquitto would switch to its own user, who may not read the test folder.
        "user root\n"
    )
    process = subprocess.Popen(
        [binary, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        for _ in range(100):
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            if process.poll() is not None:
                raise AssertionError(process.stderr.read().decode() if process.stderr else "")
            time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(10)


async def test_positions_come_over_mqtts(services, tmp_path):
    cert, key = certificate(tmp_path)
    device_id = await make_device(services, "mqtt", "van-9")
    when = _recent()
    with _mosquitto_over_tls(tmp_path, cert, key) as port:
        async with running_ingest(
            services,
            mqtt_url=f"mqtts://127.0.0.1:{port}",
            mqtt_topic="tls/+/position",
            mqtt_ca_file=cert,
        ) as ingest:
            assert ingest.mqtt is not None and ingest.mqtt.tls is not None
            await asyncio.wait_for(ingest.mqtt.subscribed.wait(), 10)
            async with aiomqtt.Client("127.0.0.1", port, tls_context=trusting(cert)) as client:
                payload = json.dumps({"time": when.isoformat(), "lat": 41.9, "lon": 12.5})
                await client.publish("tls/van-9/position", payload, qos=1)
            rows = await _rows(services, device_id)
    assert [(r.time, r.latitude, r.longitude) for r in rows] == [(when, 41.9, 12.5)]
