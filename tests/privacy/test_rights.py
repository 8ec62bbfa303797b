"""Export, erasure and retention, driven by the registry, end to end on both engines."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import pytest
from sqlalchemy import func, select

from camtel.accounts.models import User
from camtel.devices.models import Position
from camtel.events.models import Event
from camtel.privacy import erasure
from camtel.privacy.registry import RETENTION, Retention
from camtel.privacy.retention import cutoff, expired, sweep
from camtel.privacy.rights_models import PrivacyRequest
from camtel.privacy.scope import Scope
from helpers.accounts import join, sign_up

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_retention_decision_with_a_fake_clock():
    rule = Retention("time", 90)
    assert cutoff(rule, NOW) == NOW - timedelta(days=90)
    assert expired(rule, NOW - timedelta(days=91), NOW)
    assert not expired(rule, NOW - timedelta(days=89), NOW)
    assert not expired(rule, NOW - timedelta(days=400), NOW, held=True), "a legal hold wins"
    assert expired(rule, NOW - timedelta(days=8), NOW, override_days=7)
    assert expired(Retention("expires_at"), NOW - timedelta(seconds=1), NOW)
    assert not expired(Retention("expires_at"), NOW + timedelta(seconds=1), NOW)


def test_erasure_plan_deletes_children_before_parents():
    scope = Scope(user_id=uuid.uuid4(), own_orgs={uuid.uuid4()}, own_devices={uuid.uuid4()})
    order = [name for name, _, _ in erasure.plan(scope)]
    assert order.index("positions") < order.index("devices") < order.index("organizations")
    assert order.index("organizations") < order.index("users")
    assert order[-1] == "users"


async def _setup(client, services, email, unique_id, marker):  # type: ignore[no-untyped-def]
    headers, user_id = await sign_up(client, services, email)
    device = (
        await client.post(
            "/api/v1/devices",
            headers=headers,
            json={"name": marker, "unique_id": unique_id, "protocol": "osmand"},
        )
    ).json()
    now = datetime.now(UTC)
    async with services.database.session() as db:
        for n in range(5):
            db.add(
                Position(
                    device_id=uuid.UUID(device["id"]),
                    time=now - timedelta(minutes=n),
                    server_time=now,
                    latitude=48.137154 + n / 1e4,
                    longitude=11.576124,
                    altitude=520.0,
                    attributes={},
                )
            )
        db.add(
            Event(
                organization_id=uuid.UUID(device["organization_id"]),
                device_id=uuid.UUID(device["id"]),
                type="alarm",
                time=now,
                urgent=True,
                cause="sos:1",
                attributes={"alarm": "sos"},
                created_at=now,
            )
        )
    return headers, user_id, device


async def test_export_holds_everything_and_no_secret(client, services):
    headers, _, device = await _setup(client, services, "exp-me@example.com", "7101", "Van-X")
    answer = await client.get("/api/v1/me/export", headers=headers)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    names = set(archive.namelist())
    assert {
        "README.md",
        "data/users.json",
        "data/positions.json",
        "data/events.json",
        "data/devices.json",
        f"tracks/{device['id']}.gpx",
    } <= names
    users = json.loads(archive.read("data/users.json"))
    assert users[0]["email"] == "exp-me@example.com" and "password_hash" not in users[0]
    assert len(json.loads(archive.read("data/positions.json"))) == 5
    assert json.loads(archive.read("data/events.json"))[0]["type"] == "alarm"
    track = ElementTree.fromstring(archive.read(f"tracks/{device['id']}.gpx"))
    points = track.findall(".//{http://www.topografix.com/GPX/1/1}trkpt")
    assert len(points) == 5 and float(points[0].get("lat")) == pytest.approx(48.1372, abs=1e-3)
    everything = b"".join(archive.read(n) for n in names)
    assert b"argon2" not in everything, "no password hash leaves"
    assert b"positions.json" in archive.read("README.md")


async def test_erasure_removes_the_person_and_keeps_others(client, services):
    alice, _, a_device = await _setup(client, services, "erase-a@example.com", "7201", "Mk-A7f3")
    bob, _, b_device = await _setup(client, services, "erase-b@example.com", "7202", "Mk-B9d1")
    answer = await client.delete("/api/v1/me", headers=alice)
    assert answer.status_code == 200 and answer.json()["status"] == "done"
    assert (await client.get("/api/v1/me", headers=alice)).status_code == 401
    login = await client.post(
        "/api/v1/auth/token",
        json={"email": "erase-a@example.com", "password": "a long and private passphrase"},
    )
    assert login.status_code == 401
    async with services.database.session() as db:
        assert await db.scalar(select(User).where(User.email == "erase-a@example.com")) is None
        assert (
            await db.scalar(
                select(func.count())
                .select_from(Position)
                .where(Position.device_id == uuid.UUID(a_device["id"]))
            )
            == 0
        )
        assert (
            await db.scalar(
                select(func.count())
                .select_from(Position)
                .where(Position.device_id == uuid.UUID(b_device["id"]))
            )
            == 5
        )
        record = await db.scalar(select(PrivacyRequest).where(PrivacyRequest.kind == "erasure"))
        assert record.status == "done" and record.user_id is None
    assert len((await client.get("/api/v1/devices", headers=bob)).json()) == 1
    again = await erasure.execute(services.database, request_id=record.id, now=NOW)
    assert again == {}, "a second run is a no-op"
    if services.database.dialect == "sqlite":
        await services.database.dispose()
        raw = b"".join(p.read_bytes() for p in services.settings.data_dir.glob("camtel.db*"))
        assert b"erase-a@example.com" not in raw and b"Mk-A7f3" not in raw
        assert b"erase-b@example.com" in raw, "others' data is intact"


async def test_interrupted_erasure_resumes(client, services):
    _, user_id, _ = await _setup(client, services, "crash@example.com", "7301", "Mk-C")

    async def crash(db, scope):  # type: ignore[no-untyped-def]
        raise RuntimeError("power cut")

    async with services.database.session() as db:
        request = await erasure.request_erasure(db, user_id=uuid.UUID(user_id), now=NOW)
    with pytest.raises(RuntimeError):
        await erasure.execute(services.database, request_id=request.id, now=NOW, hooks=[crash])
    async with services.database.session() as db:
        assert await db.get(User, uuid.UUID(user_id)) is not None, "nothing half-deleted"
        assert (await db.get(PrivacyRequest, request.id)).status == "in_progress"
    assert await erasure.resume(services.database, now=NOW) == 1
    async with services.database.session() as db:
        assert await db.get(User, uuid.UUID(user_id)) is None
        assert (await db.get(PrivacyRequest, request.id)).status == "done"


async def test_sweeper_applies_retention_holds_and_overrides(client, services):
    headers, _, device = await _setup(client, services, "sweep@example.com", "7401", "Mk-S")
    device_id = uuid.UUID(device["id"])
    async with services.database.session() as db:
        for days in (10, 100, 200):
            db.add(
                Position(
                    device_id=device_id,
                    time=NOW - timedelta(days=days),
                    server_time=NOW,
                    latitude=1.0,
                    longitude=1.0,
                    attributes={},
                )
            )

    async def count() -> int:
        async with services.database.session() as db:
            return await db.scalar(
                select(func.count())
                .select_from(Position)
                .where(Position.device_id == device_id, Position.time < NOW - timedelta(days=1))
            )

    org = device["organization_id"]
    hold = await client.post(
        f"/api/v1/organizations/{org}/legal-holds",
        headers=headers,
        json={"device_id": device["id"], "reason": "accident claim"},
    )
    assert hold.status_code == 201
    async with services.database.session() as db:
        await sweep(db, now=NOW)
    assert await count() == 3, "held: nothing goes"
    await client.delete(
        f"/api/v1/organizations/{org}/legal-holds/{hold.json()['id']}", headers=headers
    )
    async with services.database.session() as db:
        deleted = await sweep(db, now=NOW)
    assert deleted["positions"] >= 2 and await count() == 1
    assert (
        await client.put(
            f"/api/v1/organizations/{org}/retention",
            headers=headers,
            json={"table": "positions", "days": 7},
        )
    ).status_code == 200
    async with services.database.session() as db:
        await sweep(db, now=NOW)
    assert await count() == 0
    bad = await client.put(
        f"/api/v1/organizations/{org}/retention",
        headers=headers,
        json={"table": "users", "days": 7},
    )
    assert bad.status_code == 422
    assert "positions" in RETENTION


async def test_reads_of_a_drivers_data_are_audited_and_exported(client, services):
    boss, _ = await sign_up(client, services, "audit-boss@example.com")
    driver, driver_id = await sign_up(client, services, "audit-driver@example.com")
    org = (await client.get("/api/v1/organizations", headers=boss)).json()[0]["id"]
    await join(client, boss, org, "audit-driver@example.com", "driver", driver)
    van = (
        await client.post(
            "/api/v1/devices",
            headers=boss,
            json={
                "name": "Van",
                "unique_id": "7501",
                "protocol": "osmand",
                "organization_id": org,
                "driver_id": driver_id,
            },
        )
    ).json()
    await client.get(f"/api/v1/devices/{van['id']}/positions", headers=boss)
    await client.get(f"/api/v1/devices/{van['id']}/positions", headers=driver)
    answer = await client.get("/api/v1/me/export", headers=driver)
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    audit = json.loads(archive.read("data/access_audit.json"))
    assert [(a["action"], a["actor_role"]) for a in audit] == [("read_positions", "owner")], (
        "the manager's read is recorded; the driver's own read is not"
    )
    boss_export = zipfile.ZipFile(
        io.BytesIO((await client.get("/api/v1/me/export", headers=boss)).content)
    )
    assert json.loads(boss_export.read("data/access_audit.json")) == []


def test_a_person_in_several_organisations_gets_the_shortest_days():
    from camtel.privacy.retention import days_by_subject, overridable

    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    ana, ben = uuid.uuid4(), uuid.uuid4()
    members = {a: {ana, ben}, b: {ana}, c: set()}
    assert days_by_subject(members, {a: 60, b: 7, c: 1}) == {ana: 7, ben: 60}
    assert days_by_subject(members, {}) == {}
    choices = overridable()
    assert {"positions", "events", "outbox_mail", "access_log", "media.normal"} <= set(choices)
    assert not {"consent_records", "auth_sessions", "webhook_deliveries"} & set(choices)


def test_exported_mail_keeps_no_one_time_link():
    from camtel.privacy.export import without_one_time_links

    body = (
        "Reset token: AbC-123_x.y\nOr open: https://camtel.example/reset?token=AbC-123_x.y\n"
        "Verify: https://camtel.example/api/v1/auth/verify?token=Zz9&next=/app"
    )
    cleaned = without_one_time_links(body)
    assert "AbC-123_x.y" not in cleaned and "Zz9" not in cleaned
    assert "/reset?token=<one-time link removed>" in cleaned and "&next=/app" in cleaned
    assert without_one_time_links(42) == 42
    assert without_one_time_links("no links here") == "no links here"
