"""MQTT ingest: JSON positions from a broker topic; the `+` level of the filter is the device id.

Payload: `{"time" | "timestamp": ISO 8601 or Unix seconds/milliseconds (default: now),
"latitude" | "lat", "longitude" | "lon", "speed_kmh"?, "course"?, "altitude"?, "accuracy_m"?,
"valid"?, "attributes"?: {...}}`. Messages are taken at QoS 1; the broker considers them
delivered once received (aiomqtt acknowledges on receipt), so durability here is the broker's
and the bus's, not the database's: a crash can lose what was in flight. Unknown device ids
are noted as pending and their messages dropped.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import ssl
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiomqtt

from camtel.gateways.sink import Sink
from camtel.messages import Position, Rejected
from camtel.protocols.base import position_problem

log = logging.getLogger(__name__)

PROTOCOL = "mqtt"
MAX_PAYLOAD = 64 * 1024
MS_THRESHOLD = 100_000_000_000  # Unix times above this are milliseconds
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
RETRY_S = (1.0, 2.0, 5.0, 10.0, 30.0)


def device_id_of(topic: str, topic_filter: str) -> str | None:
    """The topic level matching the filter's `+` (the first one), or None."""
    levels, pattern = topic.split("/"), topic_filter.split("/")
    if "+" not in pattern:
        return None
    index = pattern.index("+")
    return levels[index] if index < len(levels) and levels[index] else None


def _number(data: dict[str, Any], *keys: str) -> float | None:
    for key in keys:
        value = data.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError(f"{key} is not a number")
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"{key} is not finite")
        return number
    return None


def _time(value: Any, now: datetime) -> datetime:
    if value is None:
        return now
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > MS_THRESHOLD else value
        return EPOCH + timedelta(seconds=seconds)
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            raise ValueError("time without a zone")
        return parsed.astimezone(UTC)
    raise ValueError("time is neither a number nor a string")


def decode_payload(unique_id: str, payload: bytes, now: datetime) -> Position | Rejected:
    """A position from one MQTT message, or why not; never raises."""
    if len(payload) > MAX_PAYLOAD:
        return Rejected("too_large")
    try:
        data = json.loads(payload)
        if not isinstance(data, dict):
            return Rejected("not_an_object")
        latitude = _number(data, "latitude", "lat")
        longitude = _number(data, "longitude", "lon")
        if latitude is None or longitude is None:
            return Rejected("no_coordinates")
        attributes = data.get("attributes") or {}
        if not isinstance(attributes, dict):
            return Rejected("bad_attributes")
        position = Position(
            protocol=PROTOCOL,
            unique_id=unique_id,
            time=_time(data.get("time", data.get("timestamp")), now),
            latitude=latitude,
            longitude=longitude,
            valid=bool(data.get("valid", True)),
            speed_kmh=_number(data, "speed_kmh"),
            course=_number(data, "course"),
            altitude=_number(data, "altitude"),
            accuracy_m=_number(data, "accuracy_m", "accuracy"),
            attributes=attributes,
        )
    except (ValueError, TypeError, OverflowError) as exc:
        return Rejected("malformed", type(exc).__name__)
    problem = position_problem(position, now)
    return Rejected(f"implausible_position:{problem}") if problem else position


class MqttGateway:
    """Subscribes to the topic and feeds the bus; reconnects with back-off when the broker goes."""

    def __init__(
        self,
        url: str,
        topic: str,
        sink: Sink,
        *,
        clock: Callable[[], datetime],
        ca_file: Path | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "tcp", "", "mqtts", "ssl"):
            raise ValueError(
                f"unsupported MQTT URL scheme {parts.scheme!r}; use mqtt:// or mqtts://"
            )
        secure = parts.scheme in ("mqtts", "ssl")
        #: TLS to the broker for mqtts://, its certificate verified (by `ca_file`, or the
        #: system's trusted CAs): positions and credentials never cross the network in clear.
        self.tls: ssl.SSLContext | None = (
            ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
            if secure
            else None
        )
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (8883 if secure else 1883)
        self.username = parts.username
        self.password = parts.password
        self.topic = topic
        self.sink = sink
        self.clock = clock
        self.counters: Counter[str] = Counter()
        self.connected = False
        self.subscribed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="mqtt-gateway")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        self.connected = False

    async def _run(self) -> None:
        attempt = 0
        while True:
            try:
                async with aiomqtt.Client(
                    self.host,
                    self.port,
                    username=self.username,
                    password=self.password,
                    tls_context=self.tls,
                ) as client:
                    await client.subscribe(self.topic, qos=1)
                    self.connected = True
                    self.subscribed.set()
                    attempt = 0
                    log.info("mqtt subscribed to %s on %s:%d", self.topic, self.host, self.port)
                    async for message in client.messages:
                        await self.on_message(str(message.topic), message.payload)
            except aiomqtt.MqttError as exc:
                self.counters["disconnects"] += 1
                log.warning("mqtt broker %s:%d: %s", self.host, self.port, exc)
            self.connected = False
            self.subscribed.clear()
            await asyncio.sleep(RETRY_S[min(attempt, len(RETRY_S) - 1)])
            attempt += 1

    async def on_message(self, topic: str, payload: Any) -> None:
        """Decode and publish one message (never raises)."""
        self.counters["messages"] += 1
        unique_id = device_id_of(topic, self.topic)
        if unique_id is None:
            self.counters["rejected:no_device_id"] += 1
            return
        raw = payload if isinstance(payload, bytes) else str(payload).encode()
        decoded = decode_payload(unique_id, raw, self.clock())
        if isinstance(decoded, Rejected):
            self.counters[f"rejected:{decoded.reason}"] += 1
            return
        try:
            device = await self.sink.registry.resolve(PROTOCOL, unique_id)
            if device is None:
                self.counters["unknown_devices"] += 1
                return
            # The device's address is the broker's to know, not camtel's.
            self.sink.connected(device, peer=None, throttle=True)
            # Published in order, not awaited: per-device order is the bus's job, and the
            # broker has no later acknowledgement to give.
            await self.sink.publish(device, [decoded])
        except Exception:
            self.counters["errors"] += 1
            log.exception("mqtt message could not be handed on")
