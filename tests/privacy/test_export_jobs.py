"""Large exports run as a job: 202 with a Location to poll, then the ZIP; only for its owner;
its file goes with an erasure."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile

from camtel.privacy import export_jobs
from helpers.accounts import sign_up


async def test_export_as_a_job(client, services):
    alice, _ = await sign_up(client, services, "job-a@example.com")
    bob, _ = await sign_up(client, services, "job-b@example.com")
    started = await client.get("/api/v1/me/export", headers=alice, params={"async": True})
    assert started.status_code == 202
    location = started.headers["location"]
    assert location == f"/api/v1/me/exports/{started.json()['id']}"
    for _ in range(100):
        answer = await client.get(location, headers=alice)
        if answer.status_code != 202:
            break
        await asyncio.sleep(0.05)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/zip"
    users = json.loads(zipfile.ZipFile(io.BytesIO(answer.content)).read("data/users.json"))
    assert users[0]["email"] == "job-a@example.com"
    assert (await client.get(location, headers=bob)).status_code == 404, "only its owner"
    path = export_jobs.export_file(services.settings.data_dir, started.json()["id"])
    assert path.exists() and oct(path.stat().st_mode & 0o777) == "0o600"
    assert (await client.delete("/api/v1/me", headers=alice)).status_code == 200
    assert not path.exists(), "an erasure takes the export file too"


async def test_big_accounts_get_a_job_without_asking(client, services, monkeypatch):
    headers, _ = await sign_up(client, services, "job-big@example.com")
    device = (
        await client.post(
            "/api/v1/devices",
            headers=headers,
            json={"name": "Van", "unique_id": "job-1", "protocol": "osmand"},
        )
    ).json()
    import uuid
    from datetime import UTC, datetime, timedelta

    from camtel.devices.models import Position

    async with services.database.session() as db:
        for n in range(3):
            db.add(
                Position(
                    device_id=uuid.UUID(device["id"]),
                    latitude=1.0,
                    longitude=2.0,
                    time=datetime.now(UTC) - timedelta(minutes=n),
                    server_time=datetime.now(UTC),
                    attributes={},
                )
            )
    monkeypatch.setattr(export_jobs, "STREAM_LIMIT", 2)
    assert (await client.get("/api/v1/me/export", headers=headers)).status_code == 202
    monkeypatch.setattr(export_jobs, "STREAM_LIMIT", 3)
    assert (await client.get("/api/v1/me/export", headers=headers)).status_code == 200
