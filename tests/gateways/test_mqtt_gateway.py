"""JSON positions through the real Mosquitto broker; payload decoding as a pure function."""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
from datetime import UTC, datetime, timedelta

import aiomqtt
from sqlalchemy import select

from camtel.devices.models import PendingDevice
from camtel.devices.models import Position as Row
from camtel.gateways.mqtt import decode_payload, device_id_of
from camtel.messages import Position, Rejected
from helpers.env import missing
from helpers.ingest import make_device, running_ingest

BROKER = ("127.0.0.1", 1883)
NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


def test_device_id_is_the_plus_level():
    assert device_id_of("camtel/van-1/position", "camtel/+/position") == "van-1"
    assert device_id_of("camtel//position", "camtel/+/position") is None
    assert device_id_of("camtel/van-1/position", "camtel/#") is None


def test_payload_shapes():
    short = decode_payload("van", b'{"lat": 52.5, "lon": 13.4, "timestamp": 1773576000}', NOW)
    assert isinstance(short, Position) and short.time == datetime(2026, 3, 15, 12, tzinfo=UTC)
    long = decode_payload("van", json.dumps({
        "time": "2026-03-15T13:00:00+01:00", "latitude": 52.5, "longitude": 13.4,
        "speed_kmh": 50, "course": 180, "attributes": {"fuel": 40}}).encode(), NOW)
    assert isinstance(long, Position) and long.time == NOW and long.attributes == {"fuel": 40}
    ms = decode_payload("van", b'{"lat": 1, "lon": 2, "time": 1773576000000}', NOW)
    assert isinstance(ms, Position) and ms.time == NOW
    default = decode_payload("van", b'{"lat": 1, "lon": 2}', NOW)
    assert isinstance(default, Position) and default.time == NOW


def test_bad_payloads_are_named_not_raised():
    cases = {
        b"not json": "malformed",
        b"[1, 2]": "not_an_object",
        b'{"lat": 1}': "no_coordinates",
        b'{"lat": 91, "lon": 0}': "implausible_position:latitude_out_of_range",
        b'{"lat": "NaN", "lon": 0}': "malformed",
        b'{"lat": 1, "lon": 2, "time": "2026-03-15T12:00:00"}': "malformed",
        b'{"lat": 1, "lon": 2, "attributes": [1]}': "bad_attributes",
        b'{"lat": true, "lon": 2}': "malformed",
    }
    for payload, reason in cases.items():
        result = decode_payload("van", payload, NOW)
        assert isinstance(result, Rejected) and result.reason == reason, (payload, result)


def _broker_up() -> bool:
    try:
        with socket.create_connection(BROKER, timeout=1):
            return True
    except OSError:
        return False


async def test_positions_through_mosquitto(services):
    if not _broker_up():
        missing(f"Mosquitto not reachable at {BROKER[0]}:{BROKER[1]}")
    root = f"camtel-test-{secrets.token_hex(4)}"
    device_id = await make_device(services, "mqtt", "van-1")
    when = (datetime.now(UTC) - timedelta(minutes=1)).replace(microsecond=0)
    async with running_ingest(services, mqtt_url=f"mqtt://{BROKER[0]}:{BROKER[1]}",
                              mqtt_topic=f"{root}/+/position") as ingest:
        assert ingest.mqtt is not None
        await asyncio.wait_for(ingest.mqtt.subscribed.wait(), 10)
        assert ingest.readiness()["mqtt"]()
        async with aiomqtt.Client(*BROKER) as publisher:
            payload = json.dumps({"time": when.isoformat(), "lat": 48.85, "lon": 2.35,
                                  "speed_kmh": 12.5})
            await publisher.publish(f"{root}/van-1/position", payload, qos=1)
            await publisher.publish(f"{root}/van-1/position", payload, qos=1)  # redelivery
            await publisher.publish(f"{root}/stranger/position", payload, qos=1)
            await publisher.publish(f"{root}/van-1/position", b"garbage", qos=1)
        rows: list[Row] = []
        for _ in range(100):
            if ingest.mqtt.counters["messages"] >= 4 and not ingest.bus.depth():
                async with services.database.session() as db:
                    rows = list(await db.scalars(select(Row)))
                    pending = list(await db.scalars(select(PendingDevice)))
                if rows and pending:
                    break
            await asyncio.sleep(0.05)
        assert ingest.stats()["mqtt"]["rejected:malformed"] == 1
    assert [(r.device_id, r.time, r.latitude, r.speed_kmh) for r in rows] == [
        (device_id, when, 48.85, 12.5)]
    assert [p.unique_id for p in pending] == ["stranger"]
