"""Helpers for notification tests: people, devices and events in the database, a local
HTTP receiver (webhooks, push endpoints) served by uvicorn on loopback."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import uvicorn

from camtel.db.base import utcnow
from camtel.events.models import Event
from camtel.notify.dispatcher import Dispatcher, EventRecord
from camtel.notify.models import NotificationRule
from camtel.services import Services
from helpers import factories
from helpers.env import free_port


@dataclass
class World:
    org: uuid.UUID
    device: uuid.UUID
    users: dict[str, uuid.UUID] = field(default_factory=dict)


async def make_world(services: Services, *, people: dict[str, str] | None = None) -> World:
    """An organisation with one device and people by email -> role (owner by default)."""
    people = people or {"owner@example.com": "owner"}
    async with services.database.session() as db:
        users = {email: await factories.person(db, email) for email in people}
        org = await factories.organization(
            db, members={users[email]: role for email, role in people.items()}
        )
        van = await factories.device(db, org, name="Van 7")
        world = World(org=org.id, device=van.id, users={e: u.id for e, u in users.items()})
    return world


async def add_rule(services: Services, user_id: uuid.UUID, **fields: Any) -> None:
    fields.setdefault("channels", ["inbox"])
    async with services.database.session() as db:
        db.add(NotificationRule(user_id=user_id, **fields))


async def store_event(
    services: Services,
    world: World,
    *,
    type: str = "geofence_exit",
    urgent: bool = False,
    at: datetime | None = None,
    attributes: dict[str, Any] | None = None,
) -> EventRecord:
    """An Event row as the pipeline would store it, and its record for the dispatcher."""
    at = at or datetime.now(UTC)
    async with services.database.session() as db:
        event = Event(
            organization_id=world.org,
            device_id=world.device,
            type=type,
            time=at,
            urgent=urgent,
            latitude=52.52,
            longitude=13.405,
            cause=f"{type}:{uuid.uuid4()}",
            attributes=attributes or {"geofence_name": "Depot"},
            created_at=utcnow(),
        )
        db.add(event)
    return EventRecord.from_event(event)


@asynccontextmanager
async def running(dispatcher: Dispatcher) -> AsyncIterator[Dispatcher]:
    task = asyncio.create_task(dispatcher.run())
    await asyncio.sleep(0)
    try:
        yield dispatcher
    finally:
        await dispatcher.stop()
        await asyncio.wait_for(task, 5)


async def eventually(check, timeout: float = 5.0, every: float = 0.02):  # type: ignore[no-untyped-def]
    """Await `check()` until it returns something truthy; that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(every)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    """A local HTTP endpoint; `status` and `delay_s` choose how it answers."""

    port: int = 0
    status: int = 200
    delay_s: float = 0.0
    requests: list[Received] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def __call__(self, scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.requests.append(Received(scope["path"], headers, body, time.monotonic()))
        self.arrived.set()
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        await send({"type": "http.response.start", "status": self.status, "headers": []})
        await send({"type": "http.response.body", "body": b""})



@asynccontextmanager
async def serve(receiver: Receiver) -> AsyncIterator[Receiver]:
    receiver.port = free_port()
    config = uvicorn.Config(
        receiver,
        host="127.0.0.1",
        port=receiver.port,
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield receiver
    finally:
        server.should_exit = True
        await task


def with_settings(services: Services, **changes: Any) -> Services:
    """Services on the same database with some settings changed (e.g. webhook_allow_private)."""
    return Services.build(services.settings.model_copy(update=changes))


def with_routes(app):  # type: ignore[no-untyped-def]
    """The app as the composition root built it (it mounts the notification routers)."""
    return app
