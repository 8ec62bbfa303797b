"""Listing events: filters, newest first, pages, and only the caller's devices."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from camtel.events.models import Event
from helpers.accounts import sign_up


async def _events(services, device, kinds):  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    async with services.database.session() as db:
        for n, kind in enumerate(kinds):
            db.add(
                Event(
                    organization_id=uuid.UUID(device["organization_id"]),
                    device_id=uuid.UUID(device["id"]),
                    type=kind,
                    time=now - timedelta(minutes=n),
                    urgent=kind == "alarm",
                    cause=f"{kind}:{n}",
                    attributes={"n": n},
                    created_at=now,
                )
            )


async def test_events_filters_and_tenancy(client, services):
    alice, _ = await sign_up(client, services, "ev-a@example.com")
    bob, _ = await sign_up(client, services, "ev-b@example.com")
    device = (
        await client.post(
            "/api/v1/devices",
            headers=alice,
            json={"name": "A", "unique_id": "6001", "protocol": "osmand"},
        )
    ).json()
    await _events(services, device, ["geofence_exit", "alarm", "overspeed", "geofence_enter"])

    every = (await client.get("/api/v1/events", headers=alice)).json()
    assert [e["type"] for e in every] == ["geofence_exit", "alarm", "overspeed", "geofence_enter"]
    assert set(every[0]) >= {"id", "type", "time", "device_id"}
    fences = await client.get(
        "/api/v1/events",
        headers=alice,
        params={"device_id": device["id"], "type": ["geofence_exit", "geofence_enter"]},
    )
    assert [e["type"] for e in fences.json()] == ["geofence_exit", "geofence_enter"]
    urgent = (await client.get("/api/v1/events", headers=alice, params={"urgent": True})).json()
    assert [e["type"] for e in urgent] == ["alarm"]
    first = await client.get("/api/v1/events", headers=alice, params={"limit": 3})
    assert len(first.json()) == 3 and 'rel="next"' in first.headers["link"]
    bad = await client.get("/api/v1/events", headers=alice, params={"type": "volcano"})
    assert bad.status_code == 422

    assert (await client.get("/api/v1/events", headers=bob)).json() == []
    assert (
        await client.get("/api/v1/events", headers=bob, params={"device_id": device["id"]})
    ).json() == []
