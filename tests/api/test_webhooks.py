"""`POST /api/v1/webhooks` per CONTRACT.md: SSRF refused, secret write-only, delivery log."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import uuid

import httpx
import pytest

from camtel.app import build_api
from camtel.events.models import Event
from camtel.notify.dispatcher import EventRecord
from helpers.accounts import sign_up
from helpers.notify import Receiver, eventually, running, serve, with_routes, with_settings

SECRET = "a-webhook-secret-of-some-length"


@pytest.fixture
async def local(services):  # type: ignore[no-untyped-def]
    """The API of an install whose operator allows private webhook targets."""
    allowed = with_settings(services, webhook_allow_private=True)
    transport = httpx.ASGITransport(app=with_routes(build_api(allowed)))
    async with httpx.AsyncClient(transport=transport, base_url="https://t") as http:
        yield http, allowed
    await allowed.database.dispose()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5/hook",
        "http://192.168.1.10/hook",
        "http://[fd00::1]/hook",
        "http://2130706433/hook",
        "ftp://example.com/hook",
        "http://user:pw@example.com/hook",
        "http://no-such-host.invalid/hook",
    ],
)
async def test_private_and_odd_targets_are_refused(client, services, url):
    headers, _ = await sign_up(client, services, "ssrf@example.com")
    with_routes(client._transport.app)  # type: ignore[attr-defined]
    answer = await client.post(
        "/api/v1/webhooks", headers=headers, json={"url": url, "events": ["*"], "secret": SECRET}
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["type"].endswith("/invalid")


async def test_a_public_receiver_must_take_https(client, services):
    headers, _ = await sign_up(client, services, "plain@example.com")
    with_routes(client._transport.app)  # type: ignore[attr-defined]
    body = {"url": "http://93.184.216.34/hook", "events": ["*"], "secret": SECRET}
    answer = await client.post("/api/v1/webhooks", headers=headers, json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "url" and "https" in answer.json()["detail"]
    body["url"] = "https://93.184.216.34/hook"
    assert (await client.post("/api/v1/webhooks", headers=headers, json=body)).status_code == 201


async def test_bad_bodies_are_refused(local, services):
    http, _allowed = local
    headers, _ = await sign_up(http, services, "bad-hook@example.com")
    for body in [
        {"url": "http://127.0.0.1/h", "events": [], "secret": SECRET},
        {"url": "http://127.0.0.1/h", "events": ["teleport"], "secret": SECRET},
        {"url": "http://127.0.0.1/h", "events": ["*"], "secret": "short"},
        {"url": "http://127.0.0.1/h", "events": ["*"]},
    ]:
        assert (await http.post("/api/v1/webhooks", headers=headers, json=body)).status_code == 422


async def test_create_deliver_log_and_secret_never_shown(local, services):
    http, allowed = local
    headers, _ = await sign_up(http, services, "hooks@example.com")
    device = (
        await http.post(
            "/api/v1/devices",
            headers=headers,
            json={"name": "Van", "unique_id": "62001", "protocol": "osmand"},
        )
    ).json()
    async with serve(Receiver()) as receiver:
        made = await http.post(
            "/api/v1/webhooks",
            headers=headers,
            json={"url": receiver.url, "events": ["geofence_enter"], "secret": SECRET},
        )
        assert made.status_code == 201, made.text
        hook = made.json()
        assert SECRET not in made.text and "secret" not in hook
        listed = await http.get("/api/v1/webhooks", headers=headers)
        assert SECRET not in listed.text and [h["id"] for h in listed.json()] == [hook["id"]]
        async with allowed.database.session() as db:
            event = Event(
                organization_id=uuid.UUID(device["organization_id"]),
                device_id=uuid.UUID(device["id"]),
                type="geofence_enter",
                time=allowed.clock(),
                cause="enter:1",
                attributes={"geofence_name": "Yard"},
                created_at=allowed.clock(),
            )
            db.add(event)
        async with running(allowed.dispatcher) as dispatcher:
            dispatcher.events_stored([EventRecord.from_event(event)])
            await asyncio.wait_for(receiver.arrived.wait(), 5)
            await asyncio.sleep(0.2)
    got = receiver.requests[0]
    digest = hmac.new(SECRET.encode(), got.body, hashlib.sha256).hexdigest()
    assert got.headers["x-camtel-signature"] == f"sha256={digest}"

    async def logged():  # type: ignore[no-untyped-def]
        answer = await http.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=headers)
        return answer.json()

    log = await eventually(logged)
    assert [(d["attempt"], d["status_code"], d["ok"]) for d in log] == [(1, 200, True)]
    stranger, _ = await sign_up(http, services, "not-mine@example.com")
    assert (await http.get(f"/api/v1/webhooks/{hook['id']}", headers=stranger)).status_code == 404
    assert (
        await http.delete(f"/api/v1/webhooks/{hook['id']}", headers=stranger)
    ).status_code == 404
    off = await http.patch(
        f"/api/v1/webhooks/{hook['id']}", headers=headers, json={"enabled": False}
    )
    assert off.json()["enabled"] is False
    assert (await http.delete(f"/api/v1/webhooks/{hook['id']}", headers=headers)).status_code == 204
    assert (await http.get("/api/v1/webhooks", headers=headers)).json() == []
