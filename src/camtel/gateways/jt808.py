"""JT/T 808 over TCP: a session per connection, acknowledgements only after positions are stored.

Decisions:
- A terminal that is not registered in camtel is noted in the pending list. Its registration
  (0x0100) is answered "no such terminal" (0x8100 result 4) and nothing else it sends is
  acknowledged, so it keeps its reports (JT/T 808 terminals store unacknowledged reports and
  upload them later as 0x0704) until an owner claims it.
- With `jt808_auth_secret` set, positions count only after the connection authenticated
  (0x0102 with the right code), and only then does it take over the device's session.
- One connection speaks for one terminal: a frame with another phone number is rejected.
- Frames are not answered one commit at a time: each frame's positions go on the bus and
  its replies wait in `OrderedAcks`, which sends them in frame order once the positions are
  committed. A terminal that sends without waiting for acks gets group commits.
"""

from __future__ import annotations

import logging
import struct
from datetime import datetime
from typing import Any

from camtel.config import Settings
from camtel.gateways.acks import OrderedAcks
from camtel.gateways.names import label
from camtel.gateways.registry import DeviceRef
from camtel.gateways.sink import Sink
from camtel.gateways.tcp import Connection
from camtel.messages import Auth, Command, Message, Position, Register, Rejected
from camtel.protocols import jt808
from camtel.protocols.jt808_location import PROTOCOL

log = logging.getLogger(__name__)

#: 0x8100 result: the terminal is not in the platform's database.
REGISTER_NO_SUCH_TERMINAL = 4




def _tz_offset(attributes: dict[str, Any], default: float) -> float:
    value = attributes.get("tz_offset_hours")
    if isinstance(value, int | float) and not isinstance(value, bool) and -12 <= value <= 14:
        return float(value)
    return default


def _reported_model(messages: list[Message]) -> str:
    """What a terminal says it is: registration's manufacturer and model, else the
    firmware its authentication names (2019)."""
    for message in messages:
        if isinstance(message, Register):
            return f"{message.manufacturer} {message.model}".strip()
        if isinstance(message, Auth) and message.software_version:
            return f"firmware {message.software_version}"
    return ""


class Jt808Handler:
    """The JT/T 808 half of one TCP connection."""

    def __init__(self, connection: Connection, sink: Sink, settings: Settings, clock: Any) -> None:
        self.connection = connection
        self.sink = sink
        self.clock = clock
        self.splitter = jt808.FrameSplitter(settings.gateway_max_buffer)
        secret = settings.jt808_auth_secret
        self.default_tz = settings.jt808_tz_offset_hours
        self.session = jt808.Session(
            tz_offset_hours=self.default_tz, auth_secret=secret.encode() if secret else None
        )
        self.unique_id: str | None = None
        self.device: DeviceRef | None = None
        self.authenticated = not secret
        self.claimed = False
        self.noted = False  # in the access log
        self.acks = OrderedAcks(
            connection.write, connection.counters, timeout_s=sink.durable_timeout_s
        )

    @property
    def counters(self) -> Any:
        return self.connection.counters

    @property
    def dropped_bytes(self) -> int:
        return self.splitter.dropped_bytes + self.splitter.garbage_bytes

    def feed(self, data: bytes) -> list[bytes]:
        return self.splitter.feed(data)

    async def on_frame(self, frame: bytes) -> str | None:
        checked = jt808.check(frame)
        header = None if isinstance(checked, Rejected) else checked[0]
        if header is not None:
            if self.unique_id is None:
                await self._identify(header.unique_id)
            elif header.unique_id != self.unique_id:
                return "unique_id_changed"
        now: datetime = self.clock()
        decoded = jt808.decode(frame, self.session, now, checked)
        reason = decoded.rejected.reason if decoded.rejected else None
        if header is None:
            return reason or "unreadable"
        if self.device is None:
            self.counters["unknown_device_frames"] += 1
            if header.message_id == jt808.MSG_TERMINAL_REGISTER:
                body = struct.pack(">HB", header.serial, REGISTER_NO_SUCH_TERMINAL)
                await self.connection.send(
                    jt808.build_frame(jt808.MSG_REGISTER_RESPONSE, body, self.session)
                )
            return None
        if not self.noted:
            self.noted = True
            self.sink.connected(
                self.device,
                peer=self.connection.writer.get_extra_info("peername"),
                model=_reported_model(decoded.messages),
            )
        if any(isinstance(m, Auth) for m in decoded.messages):
            self.authenticated = True
        if self.authenticated and not self.claimed:
            self.sink.sessions.claim(self.device.id, self.connection)
            self.claimed = True
        positions = any(isinstance(m, Position) for m in decoded.messages)
        if positions and not self.authenticated:
            self.counters["unauthenticated_positions"] += 1
            return "not_authenticated"
        if decoded.messages:
            envelopes = await self.sink.publish(self.device, decoded.messages)
            self.acks.add(decoded.replies, [e.done for e in envelopes if e.done is not None])
            await self.acks.room()
        elif decoded.replies:
            self.acks.add(decoded.replies)
        if reason is not None and (decoded.messages or decoded.replies):
            self.counters[f"noted:{reason}"] += 1  # answered: a device problem, not an attack
            return None
        return reason

    async def _identify(self, unique_id: str) -> None:
        self.unique_id = unique_id
        self.device = await self.sink.registry.resolve(PROTOCOL, unique_id)
        if self.device is not None:
            self.session.tz_offset_hours = _tz_offset(self.device.attributes, self.default_tz)
        log.info(
            "jt808 %s from %s: %s",
            label(unique_id),
            self.connection.peer,
            "registered device" if self.device else "unknown device",
        )

    async def send_command(self, command: Command) -> int | None:
        """Encode and send a command; returns the downlink serial it used."""
        serial = self.session.next_serial
        await self.connection.send(jt808.encode_command(command, self.session))
        return serial

    def closed(self) -> None:
        self.acks.close()
        if self.device is not None and self.claimed:
            self.sink.sessions.release(self.device.id, self.connection)
