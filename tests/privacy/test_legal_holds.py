"""Legal holds name only their organisation's own devices and members, and keep only data of
their organisation: another tenant's device or person is refused exactly like an unknown id,
and a hold that names one anyway (made before this was checked) keeps none of its data."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from camtel.accounts.models import Membership
from camtel.accounts.roles import Role
from camtel.devices.models import Position
from camtel.events.models import Event
from camtel.mail.models import OutboxMail
from camtel.media import cleanup
from camtel.media.models import Media
from camtel.notify.models import InboxItem
from camtel.privacy.retention import sweep
from camtel.privacy.rights_models import LegalHold
from helpers.accounts import sign_up
from helpers.media import media_world, settled, upload

REASON = {"reason": "accident claim"}


async def _org(client, headers) -> str:  # type: ignore[no-untyped-def]
    return (await client.get("/api/v1/organizations", headers=headers)).json()[0]["id"]


async def _device(client, headers, unique_id: str, org: str | None = None) -> str:  # type: ignore[no-untyped-def]
    body = {"name": f"Van {unique_id}", "unique_id": unique_id, "protocol": "osmand"}
    made = await client.post(
        "/api/v1/devices", headers=headers, json=body | ({"organization_id": org} if org else {})
    )
    assert made.status_code == 201, made.text
    return made.json()["id"]


async def _join(services, user_id: str, org: str, role: Role = Role.MANAGER) -> None:  # type: ignore[no-untyped-def]
    async with services.database.session() as db:
        db.add(
            Membership(
                user_id=uuid.UUID(user_id),
                organization_id=uuid.UUID(org),
                role=role,
                created_at=datetime.now(UTC),
            )
        )


async def _hold_directly(services, org: str, **subject: str) -> None:  # type: ignore[no-untyped-def]
    """A hold written as the API wrote it before it checked whose the subject is."""
    async with services.database.session() as db:
        db.add(
            LegalHold(
                organization_id=uuid.UUID(org),
                reason="written before the check",
                created_at=datetime.now(UTC),
                **{key: uuid.UUID(value) for key, value in subject.items()},
            )
        )


async def test_a_hold_names_only_the_organisations_own_devices_and_members(client, services):
    alice, alice_id = await sign_up(client, services, "hold-alice@example.com")
    bob, bob_id = await sign_up(client, services, "hold-bob@example.com")
    org = await _org(client, alice)
    mine = await _device(client, alice, "7601")
    theirs = await _device(client, bob, "7602")
    url = f"/api/v1/organizations/{org}/legal-holds"

    async def place(**subject: str):  # type: ignore[no-untyped-def]
        return await client.post(url, headers=alice, json=subject | REASON)

    foreign_device = await place(device_id=theirs)
    unknown_device = await place(device_id=str(uuid.uuid4()))
    foreign_person = await place(user_id=bob_id)
    unknown_person = await place(user_id=str(uuid.uuid4()))
    for answer in (foreign_device, unknown_device, foreign_person, unknown_person):
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert "organisation" in answer.json()["detail"]
    assert foreign_device.json() == unknown_device.json(), "no hint which devices exist"
    assert foreign_person.json() == unknown_person.json(), "no hint which accounts exist"

    assert (await place(device_id=mine)).status_code == 201
    assert (await place(user_id=alice_id)).status_code == 201, "a member may be held"
    async with services.database.session() as db:
        named = (await db.execute(select(LegalHold.device_id, LegalHold.user_id))).all()
    assert uuid.UUID(theirs) not in {d for d, _ in named}
    assert uuid.UUID(bob_id) not in {u for _, u in named}


async def test_holds_keep_only_data_of_their_organisation(client, services):
    alice, _ = await sign_up(client, services, "keep-alice@example.com")
    bob, bob_id = await sign_up(client, services, "keep-bob@example.com")
    carol, carol_id = await sign_up(client, services, "keep-carol@example.com")
    org_a = await _org(client, alice)
    van_a = await _device(client, alice, "7611")
    van_b = await _device(client, bob, "7612")
    van_c = await _device(client, carol, "7613")
    await _join(services, carol_id, org_a)
    now = datetime.now(UTC)
    old = now - timedelta(days=100)
    async with services.database.session() as db:
        for device in (van_a, van_b):
            db.add(
                Position(
                    device_id=uuid.UUID(device),
                    time=old,
                    server_time=old,
                    latitude=1.0,
                    longitude=1.0,
                    attributes={},
                )
            )
        for device in (van_a, van_c):
            org = (await client.get(f"/api/v1/devices/{device}", headers=carol)).json()
            event = Event(
                organization_id=uuid.UUID(org["organization_id"]),
                device_id=uuid.UUID(device),
                type="alarm",
                time=old,
                urgent=True,
                cause=f"sos:{device}",
                attributes={},
                created_at=old,
            )
            db.add(event)
            await db.flush()
            db.add(
                InboxItem(
                    user_id=uuid.UUID(carol_id),
                    event_id=event.id,
                    device_id=uuid.UUID(device),
                    type="alarm",
                    title="SOS",
                    time=old,
                    created_at=old,
                )
            )
        for person in (bob_id, carol_id):
            db.add(
                OutboxMail(
                    user_id=uuid.UUID(person),
                    to_address="someone@example.com",
                    subject="old",
                    body="old",
                    status="sent",
                    created_at=old,
                )
            )
    # Organisation A holds its member Carol (through the API) and, written before the API
    # checked, Bob's van and Bob, who have nothing to do with A.
    placed = await client.post(
        f"/api/v1/organizations/{org_a}/legal-holds",
        headers=alice,
        json={"user_id": carol_id} | REASON,
    )
    assert placed.status_code == 201, placed.text
    await _hold_directly(services, org_a, device_id=van_b)
    await _hold_directly(services, org_a, user_id=bob_id)

    async with services.database.session() as db:
        await sweep(db, now=now)
    async with services.database.session() as db:
        positions = set(await db.scalars(select(Position.device_id)))
        inbox = set(await db.scalars(select(InboxItem.device_id)))
        mail = set(await db.scalars(select(OutboxMail.user_id).where(OutboxMail.subject == "old")))
    assert uuid.UUID(van_b) not in positions, "A's hold does not keep B's van's positions"
    assert uuid.UUID(van_a) not in positions, "nobody held A's van"
    assert inbox == {uuid.UUID(van_a)}, "Carol's notifications about A's van only"
    assert mail == {uuid.UUID(carol_id)}, "a member's mail is kept; a stranger's is not"


async def test_recordings_are_held_only_within_the_holding_organisation(services):
    async with media_world(services) as world:
        http = world.http
        alice, _ = await sign_up(http, services, "clip-alice@example.com")
        bob, bob_id = await sign_up(http, services, "clip-bob@example.com")
        carol, carol_id = await sign_up(http, services, "clip-carol@example.com")
        org_a = await _org(http, alice)
        van_a = await _device(http, alice, "7621")
        van_b = await _device(http, bob, "7622")
        van_c = await _device(http, carol, "7623")
        await _join(services, carol_id, org_a)
        clips = {}
        for name, headers, device in (
            ("carol in A", carol, van_a),
            ("carol in C", carol, van_c),
            ("bob in B", bob, van_b),
        ):
            made = await upload(http, headers, os.urandom(500), "c.bin", device_id=device)
            assert made.status_code == 201, made.text
            clips[made.json()["id"]] = name
            # One at a time: a new owner's first upload racing the analysis of another's
            # clip can meet SQLite's "database is locked" (a media matter, not a hold's).
            await settled(http, headers, made.json()["id"])
        placed = await http.post(
            f"/api/v1/organizations/{org_a}/legal-holds",
            headers=alice,
            json={"user_id": carol_id} | REASON,
        )
        assert placed.status_code == 201, placed.text
        await _hold_directly(services, org_a, device_id=van_b)
        await _hold_directly(services, org_a, user_id=bob_id)

        later = services.clock() + timedelta(days=31)
        assert await cleanup.sweep(services.database, world.lib, now=later) == 2
        async with services.database.session() as db:
            left = {clips[str(m)] for m in await db.scalars(select(Media.id))}
            holds = await db.scalar(select(func.count()).select_from(LegalHold))
        assert left == {"carol in A"}, "A's hold keeps only what Carol recorded for A"
        assert holds == 3


def test_a_persons_hold_finds_the_organisation_of_each_swept_table():
    """Every table the sweeper holds by person has a defined way to its organisation."""
    from camtel.privacy.holds import reach
    from camtel.privacy.registry import RETENTION
    from camtel.schema import metadata

    by_person = {
        name: reach(set(metadata.tables[name].c.keys()))
        for name, rules in RETENTION.items()
        if any(rule.held_by == "user_id" for rule in rules)
    }
    assert by_person == {
        "outbox_mail": "membership",
        "inbox_items": "device",
        "digest_log": "membership",
    }
    assert reach({"organization_id", "device_id", "owner_id"}) == "organization"
