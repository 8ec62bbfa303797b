"""OsmAnd / Traccar Client over HTTP: a minimal ASGI app on its own port, served by uvicorn.

Answers: 200 once the reported positions are stored (or decided: an impossible fix is not
worth a retry); 400 for input that does not decode; 404 for a device id nobody registered
(noted as pending; the client keeps the positions and retries); 413 for an oversized body;
503 when the store could not take them (the client retries).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import datetime
from pathlib import Path
from typing import Any

import uvicorn

from camtel.gateways.sink import Sink
from camtel.messages import Position
from camtel.privacy.access_log import client_summary
from camtel.protocols import osmand

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

MAX_BODY = 256 * 1024
BODY_TIMEOUT_S = 30.0


class OsmandApp:
    """The ASGI application: one request is one report (or a JSON batch of them)."""

    def __init__(self, sink: Sink, clock: Callable[[], datetime]) -> None:
        self.sink = sink
        self.clock = clock
        self.counters: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        self.counters["requests"] += 1
        try:
            body = await asyncio.wait_for(_read_body(receive), BODY_TIMEOUT_S)
        except TimeoutError:
            await _answer(send, 408, "timeout")
            return
        if body is None:
            self.counters["rejected:too_large"] += 1
            await _answer(send, 413, "too large")
            return
        status, text = await self.handle(scope, body)
        await _answer(send, status, text)

    async def handle(self, scope: Scope, body: bytes) -> tuple[int, str]:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        target = scope.get("raw_path", b"").decode("latin-1") or scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        if query:
            target = f"{target.split('?', 1)[0]}?{query}"
        status, decoded = osmand.decode_request(
            scope["method"], target, body, headers.get("content-type", ""), self.clock()
        )
        if decoded.rejected is not None:
            self.counters[f"rejected:{decoded.rejected.reason}"] += 1
        if status != osmand.OK:
            return status, decoded.rejected.reason if decoded.rejected else "refused"
        positions = [m for m in decoded.messages if isinstance(m, Position)]
        for unique_id in dict.fromkeys(p.unique_id for p in positions):
            device = await self.sink.registry.resolve(osmand.PROTOCOL, unique_id)
            if device is None:
                self.counters["unknown_devices"] += 1
                return 404, "unknown device"
            self.sink.connected(
                device,
                peer=scope.get("client"),
                model=client_summary(headers.get("user-agent")),
                throttle=True,
            )
            mine = [p for p in positions if p.unique_id == unique_id]
            if not await self.sink.deliver(device, mine):
                self.counters["not_acknowledged"] += 1
                return 503, "try again"
        self.counters["accepted"] += 1
        return 200, "OK"


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _answer(send: Send, status: int, text: str) -> None:
    body = text.encode()
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())],
    })
    await send({"type": "http.response.body", "body": body})


class OsmandGateway:
    """uvicorn serving `OsmandApp` on the OsmAnd port, without access logs (they would carry
    device ids and coordinates in query strings)."""

    def __init__(
        self,
        app: OsmandApp,
        *,
        host: str,
        port: int,
        tls: tuple[Path, Path] | None = None,
        name: str = "osmand-gateway",
    ) -> None:
        self.app = app
        #: (certificate, key) to serve HTTPS with; None serves plain HTTP.
        self.tls = tls
        self.name = name
        self.host = host
        self.requested_port = port
        self._server: uvicorn.Server | None = None
        self._socket: socket.socket | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def counters(self) -> Counter[str]:
        return self.app.counters

    async def start(self) -> None:
        config = uvicorn.Config(
            self.app,
            host=self.host,
            port=self.requested_port,
            lifespan="off",
            access_log=False,
            log_config=None,
            log_level="warning",
            timeout_keep_alive=30,
            limit_concurrency=2000,
            proxy_headers=False,
            server_header=False,
            ssl_certfile=str(self.tls[0]) if self.tls else None,
            ssl_keyfile=str(self.tls[1]) if self.tls else None,
        )
        # The socket is bound here, so that a port in use raises OSError to the caller
        # instead of uvicorn's sys.exit; and the signals stay with the process's main server.
        self._socket = socket.create_server((self.host, self.requested_port), reuse_port=False)
        self._server = uvicorn.Server(config)
        # Patched on this instance: a no-op context manager instead of uvicorn's signal capture.
        self._server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign, assignment]
        self._task = asyncio.create_task(
            self._server.serve(sockets=[self._socket]), name=self.name
        )
        while not self._server.started:  # uvicorn offers no event to await
            if self._task.done():
                raise RuntimeError("the OsmAnd gateway stopped while starting")
            await asyncio.sleep(0.01)

    @property
    def port(self) -> int:
        assert self._socket is not None, "not started"
        return int(self._socket.getsockname()[1])

    @property
    def serving(self) -> bool:
        return self._server is not None and self._server.started and not self._task_done()

    def _task_done(self) -> bool:
        return self._task is None or self._task.done()

    async def stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        try:
            await asyncio.wait_for(self._task, 10)
        except (TimeoutError, asyncio.CancelledError):
            self._task.cancel()
        self._server = self._task = None
        if self._socket is not None:
            self._socket.close()
