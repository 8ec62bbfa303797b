"""Notification rules, the inbox and push subscriptions through the API."""

from __future__ import annotations

import base64
import os
import uuid

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from camtel.app import build_api
from camtel.events.models import Event
from camtel.notify.dispatcher import EventRecord
from helpers.accounts import sign_up
from helpers.notify import eventually, running, with_routes, with_settings


@pytest.fixture
async def api(services):  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=with_routes(build_api(services)))
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as http:
        yield http


async def _device(api, headers, unique_id="61001"):  # type: ignore[no-untyped-def]
    made = await api.post(
        "/api/v1/devices",
        headers=headers,
        json={"name": "Van", "unique_id": unique_id, "protocol": "osmand"},
    )
    assert made.status_code == 201, made.text
    return made.json()


async def test_rules_crud_and_bad_input(api, services):
    headers, _ = await sign_up(api, services, "rules@example.com")
    device = await _device(api, headers)
    made = await api.post(
        "/api/v1/notification-rules",
        headers=headers,
        json={
            "event_types": ["geofence_exit", "alarm"],
            "device_ids": [device["id"]],
            "channels": ["inbox", "email"],
            "quiet_start": "22:00",
            "quiet_end": "06:30",
            "time_zone": "Europe/Berlin",
        },
    )
    assert made.status_code == 201, made.text
    rule = made.json()
    assert rule["event_types"] == ["alarm", "geofence_exit"]
    changed = await api.patch(
        f"/api/v1/notification-rules/{rule['id']}",
        headers=headers,
        json={"quiet_start": None, "quiet_end": None, "channels": ["webpush"]},
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["quiet_start"], changed.json()["channels"]) == (None, ["webpush"])
    listed = await api.get("/api/v1/notification-rules", headers=headers)
    assert [r["id"] for r in listed.json()] == [rule["id"]]
    for bad in [
        {"channels": []},
        {"channels": ["sms"]},
        {"channels": ["inbox"], "event_types": ["teleport"]},
        {"channels": ["inbox"], "quiet_start": "25:00", "quiet_end": "06:00"},
        {"channels": ["inbox"], "quiet_start": "22:00"},
        {"channels": ["inbox"], "time_zone": "Mars/Olympus"},
        {"channels": ["inbox"], "device_ids": [str(uuid.uuid4())]},
        {"channels": ["inbox"], "surprise": 1},
    ]:
        answer = await api.post("/api/v1/notification-rules", headers=headers, json=bad)
        assert answer.status_code == 422, (bad, answer.text)
    stranger, _ = await sign_up(api, services, "stranger@example.com")
    assert (
        await api.get(f"/api/v1/notification-rules/{rule['id']}", headers=stranger)
    ).status_code == 404
    assert (
        await api.delete(f"/api/v1/notification-rules/{rule['id']}", headers=headers)
    ).status_code == 204
    assert (await api.get("/api/v1/notification-rules")).status_code == 401


async def test_inbox_lists_and_marks_read(api, services):
    headers, _ = await sign_up(api, services, "inbox@example.com")
    device = await _device(api, headers, "61002")
    await api.post("/api/v1/notification-rules", headers=headers, json={"channels": ["inbox"]})
    async with services.database.session() as db:
        events = [
            Event(
                organization_id=uuid.UUID(device["organization_id"]),
                device_id=uuid.UUID(device["id"]),
                type=kind,
                time=services.clock(),
                cause=f"{kind}:1",
                attributes={},
                created_at=services.clock(),
            )
            for kind in ("ignition_on", "overspeed")
        ]
        db.add_all(events)
    async with running(services.dispatcher) as dispatcher:
        dispatcher.events_stored([EventRecord.from_event(e) for e in events])
        await dispatcher.idle()

    async def listed():  # type: ignore[no-untyped-def]
        return (await api.get("/api/v1/notifications", headers=headers)).json()

    items = await eventually(listed)
    assert [i["title"] for i in items] == ["Van is speeding", "Van: ignition on"]
    first = items[0]["id"]
    marked = await api.patch(f"/api/v1/notifications/{first}", headers=headers, json={"read": True})
    assert marked.status_code == 200 and marked.json()["read_at"] is not None
    unread = await api.get("/api/v1/notifications?unread=true", headers=headers)
    assert [i["id"] for i in unread.json()] == [items[1]["id"]]
    page = await api.get("/api/v1/notifications?limit=1", headers=headers)
    assert len(page.json()) == 1 and 'rel="next"' in page.headers["link"]
    again = await api.patch(f"/api/v1/notifications/{first}", headers=headers, json={"read": False})
    assert again.json()["read_at"] is None
    assert (await api.post("/api/v1/notifications/read-all", headers=headers)).json() == {
        "marked": 2
    }
    other, _ = await sign_up(api, services, "other-inbox@example.com")
    assert (await api.get("/api/v1/notifications", headers=other)).json() == []
    assert (
        await api.patch(f"/api/v1/notifications/{first}", headers=other, json={"read": True})
    ).status_code == 404


def _subscription(endpoint: str) -> dict:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    point = key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()  # noqa: E731
    return {
        "endpoint": endpoint,
        "keys": {"p256dh": b64(point), "auth": b64(os.urandom(16))},
        "expirationTime": None,
    }


async def test_push_subscriptions_and_the_vapid_key(api, services):
    headers, _ = await sign_up(api, services, "push@example.com")
    key = await api.get("/api/v1/push/vapid-public-key", headers=headers)
    assert key.status_code == 200
    assert len(base64.urlsafe_b64decode(key.json()["public_key"] + "=")) == 65
    assert (services.settings.data_dir / "vapid.pem").exists()
    refused = await api.post(
        "/api/v1/push/subscriptions", headers=headers, json=_subscription("http://127.0.0.1:9/push")
    )
    assert refused.status_code == 422, "a push endpoint on loopback is an SSRF"
    broken = _subscription("https://push.example.com/x")
    broken["keys"]["p256dh"] = "A" * 87
    assert (
        await api.post("/api/v1/push/subscriptions", headers=headers, json=broken)
    ).status_code == 422
    private = with_settings(services, webhook_allow_private=True)
    transport = httpx.ASGITransport(app=with_routes(build_api(private)))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="https://t") as local:
            made = await local.post(
                "/api/v1/push/subscriptions",
                headers=headers,
                json=_subscription("http://127.0.0.1:9/push/abc"),
            )
            assert made.status_code == 201, made.text
            assert made.json()["endpoint_host"] == "127.0.0.1"
            assert "endpoint" not in made.json()
            listed = await local.get("/api/v1/push/subscriptions", headers=headers)
            assert [s["id"] for s in listed.json()] == [made.json()["id"]]
            gone = await local.delete(
                f"/api/v1/push/subscriptions/{made.json()['id']}", headers=headers
            )
            assert gone.status_code == 204
            assert (
                await local.delete(
                    f"/api/v1/push/subscriptions/{made.json()['id']}", headers=headers
                )
            ).status_code == 404
    finally:
        await private.database.dispose()
