"""A generic asyncio TCP server for device protocols: one task and one session per connection.

What keeps one device from disturbing another: every connection is its own task; input is
cut into frames by a splitter with a bounded buffer; a connection that completes no frame
within the idle timeout is closed (slow or silent: slowloris gets the same door); a run of
rejected frames closes it; writes to a device that does not read time out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections import Counter
from collections.abc import Callable
from typing import Protocol

from camtel.messages import Command

log = logging.getLogger(__name__)

READ_SIZE = 65536
WRITE_TIMEOUT_S = 10.0
#: Bytes queued for a device past which the read loop waits for them to leave (with timeout).
WRITE_HIGH_WATER = 64 * 1024
#: Rejected frames in a row before the connection is closed (checksum floods, wrong protocol).
MAX_REJECTED_IN_A_ROW = 16
#: Connections the kernel may hold before they are accepted (asyncio's default is 100). A
#: fleet reconnecting at once overflows a short queue, and each dropped attempt costs its
#: terminal a SYN retry of a second or more (`net.core.somaxconn` caps it; 4096 on Linux).
LISTEN_BACKLOG = 4096


#: Seconds a device has to finish the TLS handshake on a TLS port.
TLS_HANDSHAKE_S = 15.0

class Handler(Protocol):
    """The protocol half of a connection: framing, decoding, replies."""

    def feed(self, data: bytes) -> list[bytes]:
        """Frames completed by `data` (bounded buffering inside)."""
        ...

    @property
    def dropped_bytes(self) -> int:
        """Bytes thrown away so far (garbage, overflow)."""
        ...

    async def on_frame(self, frame: bytes) -> str | None:
        """Handle one frame; return the reason when it was rejected."""
        ...

    async def send_command(self, command: Command) -> int | None:
        """Send a command down to the device; the downlink serial when there is one."""
        ...

    def closed(self) -> None:
        """The connection ended (release the session)."""
        ...


class Connection:
    """One device connection as the protocol handler sees it."""

    def __init__(
        self, gateway: TcpGateway, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.gateway = gateway
        self.reader = reader
        self.writer = writer
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        self.closing = False
        self.handler: Handler | None = None

    @property
    def counters(self) -> Counter[str]:
        return self.gateway.counters

    async def send(self, data: bytes) -> None:
        """Write to the device; a device that stops reading is closed, not waited for."""
        if self.closing:
            return
        self.writer.write(data)
        await self._drain()

    def write(self, data: bytes) -> None:
        """Queue bytes for the device without waiting (acks sent from callbacks); the read
        loop applies the write timeout through `drained`."""
        if not self.closing:
            self.writer.write(data)

    async def drained(self) -> None:
        """Wait, within the write timeout, when too much is queued for the device."""
        if not self.closing and self.writer.transport.get_write_buffer_size() > WRITE_HIGH_WATER:
            await self._drain()

    async def _drain(self) -> None:
        try:
            async with asyncio.timeout(WRITE_TIMEOUT_S):
                await self.writer.drain()
        except (TimeoutError, ConnectionError):
            self.counters["write_failures"] += 1
            self.close()

    def close(self) -> None:
        """Close the connection; the read loop ends with it."""
        if not self.closing:
            self.closing = True
            self.writer.close()

    async def send_command(self, command: Command) -> int | None:
        assert self.handler is not None
        return await self.handler.send_command(command)


class TcpGateway:
    """Listens on a port and runs a fresh handler for every connection."""

    def __init__(
        self,
        name: str,
        *,
        host: str,
        port: int,
        handler: Callable[[Connection], Handler],
        idle_timeout_s: float,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.name = name
        #: Server-side TLS for devices that support it; None listens in plain TCP.
        self.tls = tls
        self.host = host
        self.requested_port = port
        self.make_handler = handler
        self.idle_timeout_s = idle_timeout_s
        self.counters: Counter[str] = Counter()
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task[None], Connection] = {}

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._serve,
            self.host,
            self.requested_port,
            backlog=LISTEN_BACKLOG,
            ssl=self.tls,
            # A client that opens a connection and never finishes the handshake is dropped.
            ssl_handshake_timeout=TLS_HANDSHAKE_S if self.tls is not None else None,
        )
        log.info("%s gateway listening on %s:%d", self.name, self.host, self.port)

    @property
    def port(self) -> int:
        assert self._server is not None, "not started"
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def serving(self) -> bool:
        return self._server is not None and self._server.is_serving()

    @property
    def connections(self) -> int:
        return len(self._connections)

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for connection in list(self._connections.values()):
            connection.close()
        tasks = list(self._connections)
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 5)
        self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        connection = Connection(self, reader, writer)
        self._connections[task] = connection
        self.counters["connections"] += 1
        handler = connection.handler = self.make_handler(connection)
        try:
            await self._read_loop(connection, handler)
        except (ConnectionError, OSError):
            pass
        except asyncio.CancelledError:
            raise
        except Exception:
            # A bug in a handler costs this connection, never the server.
            self.counters["handler_errors"] += 1
            log.exception("%s handler failed for %s", self.name, connection.peer)
        finally:
            del self._connections[task]
            handler.closed()
            connection.close()

    async def _read_loop(self, connection: Connection, handler: Handler) -> None:
        loop = asyncio.get_running_loop()
        last_frame = loop.time()
        rejected_in_a_row = 0
        while not connection.closing:
            remaining = self.idle_timeout_s - (loop.time() - last_frame)
            if remaining <= 0:
                self.counters["closed_idle"] += 1
                return
            try:
                async with asyncio.timeout(remaining):
                    data = await connection.reader.read(READ_SIZE)
            except TimeoutError:
                self.counters["closed_idle"] += 1
                return
            if not data:
                return
            self.counters["bytes_in"] += len(data)
            dropped = handler.dropped_bytes
            frames = handler.feed(data)
            self.counters["bytes_dropped"] += handler.dropped_bytes - dropped
            for frame in frames:
                self.counters["frames"] += 1
                reason = await handler.on_frame(frame)
                if reason is None:
                    rejected_in_a_row = 0
                    last_frame = loop.time()
                    continue
                self.counters[f"rejected:{reason}"] += 1
                rejected_in_a_row += 1
                log.debug("%s frame from %s rejected: %s", self.name, connection.peer, reason)
                if rejected_in_a_row >= MAX_REJECTED_IN_A_ROW:
                    self.counters["closed_rejected"] += 1
                    log.info(
                        "%s closing %s after %d rejected frames (last: %s)",
                        self.name, connection.peer, rejected_in_a_row, reason,
                    )
                    return
            await connection.drained()
