"""`/api/v1/live`: a WebSocket streaming positions and events of what the caller may see."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid

from fastapi import APIRouter, WebSocket, WebSocketDisconnect, status
from sqlalchemy import select

from camtel.accounts.caller import Caller, load_caller
from camtel.accounts.tokens import resolve
from camtel.api.deps import SESSION_COOKIE
from camtel.bus.live import LiveUpdate
from camtel.devices.models import Device
from camtel.devices.service import visible_devices
from camtel.privacy import audit
from camtel.services import Services

router = APIRouter(tags=["live"])

#: How long a visibility answer for a device is trusted before asking the database again.
RECHECK_S = 30.0


async def _authenticate(websocket: WebSocket, services: Services) -> Caller | None:
    """By bearer header or `token` query (API tokens), or by session cookie from our origin."""
    header = websocket.headers.get("authorization", "")
    token = (
        header[7:] if header.lower().startswith("bearer ") else websocket.query_params.get("token")
    )
    kind = "api"
    if not token:
        token, kind = websocket.cookies.get(SESSION_COOKIE), "web"
        origin = websocket.headers.get("origin")
        host = websocket.headers.get("host", "")
        # Browsers send cookies on cross-site WebSocket handshakes: insist on our own origin.
        if origin is not None and origin.split("://", 1)[-1] != host:
            return None
    if not token:
        return None
    async with services.database.session() as db:
        found = await resolve(db, token=token, now=services.clock())
        if found is None or found[1].kind != kind:
            return None
        return await load_caller(db, user=found[0], session=found[1])


class _Visibility:
    """Which devices the caller may see, cached briefly so new devices appear without reconnect.

    The first update of a device sent on this socket is audited (P15): watching a driver's
    vehicle live is a read of their data, recorded once per device and connection."""

    def __init__(self, services: Services, caller: Caller) -> None:
        self.services, self.caller = services, caller
        self._known: dict[uuid.UUID, tuple[bool, float]] = {}
        self._watched: set[uuid.UUID] = set()

    async def load(self) -> None:
        async with self.services.database.session() as db:
            ids = await db.scalars(visible_devices(self.caller).with_only_columns(Device.id))
            now = time.monotonic()
            self._known = {device_id: (True, now) for device_id in ids}

    async def allows(self, device_id: uuid.UUID) -> bool:
        allowed = await self._visible(device_id)
        if allowed and device_id not in self._watched:
            self._watched.add(device_id)
            async with self.services.database.session() as db:
                await audit.record_device_reads(
                    db,
                    caller=self.caller,
                    device_ids=[device_id],
                    action="watch_live",
                    now=self.services.clock(),
                )
        return allowed

    async def _visible(self, device_id: uuid.UUID) -> bool:
        known = self._known.get(device_id)
        if known is not None and time.monotonic() - known[1] < RECHECK_S:
            return known[0]
        async with self.services.database.session() as db:
            found = await db.scalar(
                select(Device.id)
                .where(Device.id == device_id)
                .where(Device.id.in_(visible_devices(self.caller).with_only_columns(Device.id)))
            )
        self._known[device_id] = (found is not None, time.monotonic())
        return found is not None


def _message(update: LiveUpdate) -> dict:
    return {"type": update.kind, "device_id": str(update.device_id), **update.payload}


@router.websocket("/live")
async def live(websocket: WebSocket) -> None:
    """Stream `{"type": "position"|"event", "device_id", ...}` messages as JSON text frames.

    Authenticate with `Authorization: Bearer <token>`, `?token=<token>`, or the web session
    cookie. Optional `?device_id=` narrows the stream to one device.
    """
    services: Services = websocket.app.state.services
    caller = await _authenticate(websocket, services)
    if caller is None:
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason="sign in first")
        return
    only = websocket.query_params.get("device_id")
    try:
        only_id = uuid.UUID(only) if only else None
    except ValueError:
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason="bad device_id")
        return
    visibility = _Visibility(services, caller)
    await visibility.load()
    await websocket.accept()
    subscription = services.live.subscribe()

    async def drain_client() -> None:
        # Reading lets us notice a closed socket; clients have nothing to say yet.
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                await websocket.receive_text()

    reader = asyncio.create_task(drain_client())
    try:
        await websocket.send_json({"type": "hello", "user_id": str(caller.user.id)})
        while True:
            getter = asyncio.ensure_future(subscription.queue.get())
            await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
            if not getter.done():
                getter.cancel()
                break
            update = getter.result()
            if only_id is not None and update.device_id != only_id:
                continue
            # Notifications are personal: only their addressee hears them.
            if update.kind == "notification" and update.payload.get("user_id") != str(
                caller.user.id
            ):
                continue
            if await visibility.allows(update.device_id):
                await websocket.send_json(_message(update))
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        subscription.close()
        reader.cancel()
