"""Teltonika over TCP: IMEI handshake, then AVL packets acknowledged after they are stored.

An IMEI that is not registered is noted in the pending list and refused (0x00) as the
protocol provides: the tracker keeps its records and tries again later.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from camtel.config import Settings
from camtel.gateways.names import label
from camtel.gateways.registry import DeviceRef
from camtel.gateways.sink import Sink
from camtel.gateways.tcp import Connection
from camtel.messages import Command
from camtel.protocols import teltonika

log = logging.getLogger(__name__)


class TeltonikaHandler:
    """The Teltonika half of one TCP connection."""

    def __init__(self, connection: Connection, sink: Sink, settings: Settings, clock: Any) -> None:
        self.connection = connection
        self.sink = sink
        self.clock = clock
        self.splitter = teltonika.FrameSplitter(settings.gateway_max_buffer)
        self.session = teltonika.Session()
        self.device: DeviceRef | None = None

    @property
    def counters(self) -> Any:
        return self.connection.counters

    @property
    def dropped_bytes(self) -> int:
        return self.splitter.dropped_bytes

    def feed(self, data: bytes) -> list[bytes]:
        return self.splitter.feed(data)

    async def on_frame(self, frame: bytes) -> str | None:
        now: datetime = self.clock()
        decoded = teltonika.decode(frame, self.session, now)
        reason = decoded.rejected.reason if decoded.rejected else None
        if self.device is None:
            if not self.session.unique_id:
                for reply in decoded.replies:
                    await self.connection.send(reply)
                return reason or "no_imei"
            self.device = await self.sink.registry.resolve(
                teltonika.PROTOCOL, self.session.unique_id
            )
            log.info(
                "teltonika %s from %s: %s",
                label(self.session.unique_id),
                self.connection.peer,
                "registered device" if self.device else "unknown device, refused",
            )
            if self.device is None:
                self.counters["unknown_devices"] += 1
                await self.connection.send(teltonika.REFUSE)
                self.connection.close()
                return None
            self.sink.connected(self.device, peer=self.connection.writer.get_extra_info("peername"))
            self.sink.sessions.claim(self.device.id, self.connection)
        if decoded.messages and not await self.sink.deliver(self.device, decoded.messages):
            self.counters["not_acknowledged"] += 1
            return None
        for reply in decoded.replies:
            await self.connection.send(reply)
        if reason is not None and (decoded.messages or decoded.replies):
            self.counters[f"noted:{reason}"] += 1
            return None
        return reason

    async def send_command(self, command: Command) -> int | None:
        await self.connection.send(teltonika.encode_command(command, self.session))
        return None

    def closed(self) -> None:
        if self.device is not None:
            self.sink.sessions.release(self.device.id, self.connection)
