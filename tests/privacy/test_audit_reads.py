"""Access audit beyond positions (P15): when an owner, manager or viewer reads a driver's
events, trips, stops, exported positions, recordings (list, content, embedded track) or
summary reports, the read is recorded and the driver
sees it in their export; the driver's own reads and reads of undriven devices record nothing."""

from __future__ import annotations

import io
import json
import os
import uuid
import zipfile
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from camtel.devices.models import Position
from camtel.events.models import Event
from camtel.privacy.audit import AccessAudit
from helpers.accounts import join, sign_up


async def _member(client, services, boss, org: str, email: str, role: str):  # type: ignore[no-untyped-def]
    headers, user_id = await sign_up(client, services, email)
    await join(client, boss, org, email, role, headers)
    return headers, user_id


async def _device(client, boss, org: str, name: str, unique_id: str, driver_id=None) -> str:  # type: ignore[no-untyped-def]
    body = {"name": name, "unique_id": unique_id, "protocol": "osmand", "organization_id": org}
    if driver_id:
        body["driver_id"] = driver_id
    made = await client.post("/api/v1/devices", headers=boss, json=body)
    assert made.status_code == 201, made.text
    return made.json()["id"]


async def _activity(services, org: str, device_id: str) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    async with services.database.session() as db:
        for n in range(3):
            db.add(
                Position(
                    device_id=uuid.UUID(device_id),
                    time=now - timedelta(minutes=10 - n),
                    server_time=now,
                    latitude=48.1 + n / 1e3,
                    longitude=11.5,
                    attributes={},
                )
            )
        db.add(
            Event(
                organization_id=uuid.UUID(org),
                device_id=uuid.UUID(device_id),
                type="alarm",
                time=now - timedelta(minutes=1),
                urgent=True,
                cause=f"sos:{device_id}",
                attributes={},
                created_at=now,
            )
        )


async def _media(client, headers, device_id: str) -> str:  # type: ignore[no-untyped-def]
    made = await client.post(
        "/api/v1/media",
        headers=headers,
        files={"file": ("clip.bin", os.urandom(5000), "application/octet-stream")},
        data={"device_id": device_id},
    )
    assert made.status_code == 201, made.text
    return made.json()["id"]


def _reads(device_id: str, media_id: str, *, events_filtered: bool = True) -> list[str]:
    return [
        f"/api/v1/events?device_id={device_id}" if events_filtered else "/api/v1/events",
        f"/api/v1/devices/{device_id}/trips",
        f"/api/v1/devices/{device_id}/stops",
        f"/api/v1/devices/{device_id}/positions/export?format=csv",
        f"/api/v1/media/{media_id}",
        f"/api/v1/media/{media_id}/content",
        f"/api/v1/media?device_id={device_id}",
        f"/api/v1/media/{media_id}/track.geojson",
        f"/api/v1/media/{media_id}/track.gpx",
        f"/api/v1/reports/summary?device_id={device_id}",
    ]


ACTIONS = [
    "read_events",
    "read_trips",
    "read_stops",
    "export_positions",
    "read_media",
    "read_media_content",
    "list_media",
    "read_media_track",
    "read_media_track",
    "read_summary_report",
]


async def _read_all(client, headers, urls: list[str]) -> None:  # type: ignore[no-untyped-def]
    for url in urls:
        answer = await client.get(url, headers=headers)
        assert answer.status_code == 200, (url, answer.text)


async def _audit_of(client, headers) -> list[dict]:  # type: ignore[no-untyped-def]
    answer = await client.get("/api/v1/me/export", headers=headers)
    assert answer.status_code == 200, answer.text
    return json.loads(zipfile.ZipFile(io.BytesIO(answer.content)).read("data/access_audit.json"))


async def test_reads_of_a_drivers_data_are_audited_and_exported(client, services):
    boss, boss_id = await sign_up(client, services, "reads-boss@example.com")
    org = (await client.get("/api/v1/organizations", headers=boss)).json()[0]["id"]
    driver, driver_id = await _member(
        client, services, boss, org, "reads-drv@example.com", "driver"
    )
    manager, manager_id = await _member(
        client, services, boss, org, "reads-mgr@example.com", "manager"
    )
    viewer, viewer_id = await _member(
        client, services, boss, org, "reads-view@example.com", "viewer"
    )
    van = await _device(client, boss, org, "Van", "7601", driver_id)
    spare = await _device(client, boss, org, "Spare", "7602")
    await _activity(services, org, van)
    await _activity(services, org, spare)
    van_clip = await _media(client, boss, van)
    spare_clip = await _media(client, boss, spare)

    # Reads of undriven devices and the driver's own reads: nothing to record.
    for who in (boss, manager, viewer):
        await _read_all(client, who, _reads(spare, spare_clip))
    await _read_all(client, driver, _reads(van, van_clip))
    await _read_all(client, driver, _reads(van, van_clip, events_filtered=False))
    async with services.database.session() as db:
        assert await db.scalar(select(func.count()).select_from(AccessAudit)) == 0

    # Others reading the driver's data: each read recorded once, with the reader's role.
    await _read_all(client, boss, _reads(van, van_clip))
    await _read_all(client, manager, _reads(van, van_clip, events_filtered=False))
    await _read_all(client, viewer, _reads(van, van_clip))
    # An unfiltered list that holds none of the van's events records no read of them.
    empty = await client.get(
        "/api/v1/events", headers=viewer, params={"to": "2001-01-01T00:00:00+00:00"}
    )
    assert empty.status_code == 200 and empty.json() == []

    audit = await _audit_of(client, driver)
    got = Counter((a["action"], a["actor_role"], a["actor_user_id"]) for a in audit)
    expected = Counter(
        (action, role, actor)
        for role, actor in (("owner", boss_id), ("manager", manager_id), ("viewer", viewer_id))
        for action in ACTIONS
    )
    assert got == expected
    assert {a["resource"] for a in audit} == {f"device:{van}"}
    assert all(a["subject_user_id"] == driver_id for a in audit)

    # The readers' own exports list nothing: they read no one's data about themselves.
    for who in (boss, manager, viewer):
        assert await _audit_of(client, who) == []
