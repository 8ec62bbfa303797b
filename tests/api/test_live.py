"""The live WebSocket over a real server: signed-in callers get updates of their own devices."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid

import pytest
import uvicorn
import websockets

from camtel.app import build_api
from camtel.bus.live import LiveUpdate
from helpers.accounts import join, sign_up


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
async def server(services):  # type: ignore[no-untyped-def]
    port = _free_port()
    config = uvicorn.Config(
        build_api(services), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    running = uvicorn.Server(config)
    task = asyncio.create_task(running.serve())
    while not running.started:
        await asyncio.sleep(0.02)
    yield f"127.0.0.1:{port}"
    running.should_exit = True
    await task


async def _next(ws, timeout: float = 3.0) -> dict:  # type: ignore[no-untyped-def]
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def test_live_streams_only_visible_devices(client, services, server):
    alice, _ = await sign_up(client, services, "live-a@example.com")
    bob, _ = await sign_up(client, services, "live-b@example.com")
    mine = (
        await client.post(
            "/api/v1/devices",
            headers=alice,
            json={"name": "A", "unique_id": "5001", "protocol": "osmand"},
        )
    ).json()
    theirs = (
        await client.post(
            "/api/v1/devices",
            headers=bob,
            json={"name": "B", "unique_id": "5002", "protocol": "osmand"},
        )
    ).json()
    token = alice["Authorization"].split()[1]
    async with websockets.connect(f"ws://{server}/api/v1/live?token={token}") as ws:
        assert (await _next(ws))["type"] == "hello"
        services.live.publish(LiveUpdate("position", uuid.UUID(theirs["id"]), {"latitude": 1.0}))
        services.live.publish(LiveUpdate("position", uuid.UUID(mine["id"]), {"latitude": 2.0}))
        got = await _next(ws)
        assert (got["type"], got["device_id"], got["latitude"]) == ("position", mine["id"], 2.0)
        later = (
            await client.post(
                "/api/v1/devices",
                headers=alice,
                json={"name": "A2", "unique_id": "5003", "protocol": "osmand"},
            )
        ).json()
        services.live.publish(LiveUpdate("event", uuid.UUID(later["id"]), {"event": "x"}))
        assert (await _next(ws))["device_id"] == later["id"], "new devices appear without reconnect"


async def test_live_refuses_strangers(server):
    for url in [f"ws://{server}/api/v1/live", f"ws://{server}/api/v1/live?token=forged"]:
        with pytest.raises(websockets.exceptions.WebSocketException):
            async with websockets.connect(url) as ws:
                await _next(ws)


async def test_live_refuses_cross_site_cookie(client, services, server):
    await sign_up(client, services, "live-c@example.com")
    answer = await client.post(
        "/api/v1/auth/session",
        json={"email": "live-c@example.com", "password": "a long and private passphrase"},
    )
    cookie = f"camtel_session={answer.cookies['camtel_session']}"
    with pytest.raises(websockets.exceptions.WebSocketException):
        async with websockets.connect(
            f"ws://{server}/api/v1/live",
            origin="https://evil.example",
            additional_headers={"Cookie": cookie},
        ) as ws:
            await _next(ws)
    async with websockets.connect(
        f"ws://{server}/api/v1/live",
        origin=f"http://{server}",
        additional_headers={"Cookie": cookie},
    ) as ws:
        assert (await _next(ws))["type"] == "hello"


async def test_watching_a_drivers_vehicle_live_is_audited_once(client, services, server):
    """A manager's live map shows a driver's van: one audit row per device and connection,
    none for the driver watching their own van."""
    from sqlalchemy import select

    from camtel.privacy.audit import AccessAudit

    boss, boss_id = await sign_up(client, services, "live-boss@example.com")
    driver, driver_id = await sign_up(client, services, "live-drv@example.com")
    org = (await client.get("/api/v1/organizations", headers=boss)).json()[0]["id"]
    await join(client, boss, org, "live-drv@example.com", "driver", driver)
    van = (
        await client.post(
            "/api/v1/devices",
            headers=boss,
            json={"name": "Van", "unique_id": "5004", "protocol": "osmand", "driver_id": driver_id},
        )
    ).json()
    for who in (boss, driver):
        token = who["Authorization"].split()[1]
        async with websockets.connect(f"ws://{server}/api/v1/live?token={token}") as ws:
            assert (await _next(ws))["type"] == "hello"
            for n in range(3):
                services.live.publish(LiveUpdate("position", uuid.UUID(van["id"]), {"n": n}))
                assert (await _next(ws))["n"] == n
    async with services.database.session() as db:
        rows = list(await db.scalars(select(AccessAudit)))
    assert [(r.action, str(r.actor_user_id), str(r.subject_user_id)) for r in rows] == [
        ("watch_live", boss_id, driver_id)
    ]
