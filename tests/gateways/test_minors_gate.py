"""P20: a minor's location is not collected until their guardian consents (and a withdrawn
consent stops collection again). Real terminal over TCP through Ingest."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from camtel.accounts.models import Membership, User
from camtel.accounts.service import create_account
from camtel.devices.models import Device
from camtel.devices.models import Position as Row
from camtel.privacy import consent
from camtel.privacy.consent import Channel, Outcome, Purpose
from helpers.env import free_port
from helpers.ingest import Terminal, location_body, running_ingest

PHONE = "013955500001"
PASSWORD = "a long and private passphrase"


def bcd(utc: datetime) -> str:
    return (utc + timedelta(hours=8)).strftime("%y%m%d%H%M%S")


async def test_minor_location_waits_for_the_guardian(services):
    now = datetime.now(UTC)
    async with services.database.session() as db:
        guardian = await create_account(
            db,
            email="parent@example.com",
            phone="+4915123456780",
            password=PASSWORD,
            min_length=8,
            now=now,
            verified=True,
        )
        minor = await create_account(
            db,
            email="teen@example.com",
            phone="+4915123456781",
            password=PASSWORD,
            min_length=8,
            now=now,
            verified=True,
            date_of_birth=date(now.year - 16, 1, 1),
        )
        minor.guardian_id = guardian.id
        org = await db.scalar(
            select(Membership.organization_id).where(Membership.user_id == minor.id)
        )
        db.add(Device(organization_id=org, name="Scooter", unique_id=PHONE, protocol="jt808"))
    minor_id, guardian_id = minor.id, guardian.id

    async def rows() -> int:
        async with services.database.session() as db:
            return len(list(await db.scalars(select(Row))))

    async with running_ingest(services, jt808_port=free_port()) as ingest:
        terminal = await Terminal(PHONE).connect(ingest.ports["jt808"])
        await terminal.login()
        fix = (now - timedelta(minutes=5)).replace(microsecond=0)
        await terminal.send(0x0200, location_body(22.5, 114.0, bcd(fix)))
        assert (await terminal.reply())[0] == 0x8001, "acknowledged, so it is not resent"
        assert await rows() == 0, "a minor's location without the guardian's consent"
        assert ingest.sink.counters["positions_not_collected"] == 1

        async with services.database.session() as db:
            await consent.record(
                db,
                user_id=minor_id,
                purpose=Purpose.GUARDIAN_LOCATION,
                outcome=Outcome.GIVEN,
                channel=Channel.GUARDIAN,
                now=now,
                actor_id=guardian_id,
            )
        ingest.registry.forget("jt808", PHONE)
        await terminal.send(0x0200, location_body(22.5, 114.0, bcd(fix + timedelta(seconds=10))))
        assert (await terminal.reply())[0] == 0x8001
        assert await rows() == 1, "collected once the guardian consented"

        async with services.database.session() as db:
            await consent.record(
                db,
                user_id=minor_id,
                purpose=Purpose.GUARDIAN_LOCATION,
                outcome=Outcome.WITHDRAWN,
                channel=Channel.GUARDIAN,
                now=now,
                actor_id=guardian_id,
            )
        ingest.registry.forget("jt808", PHONE)
        await terminal.send(0x0200, location_body(22.5, 114.0, bcd(fix + timedelta(seconds=20))))
        assert (await terminal.reply())[0] == 0x8001
        assert await rows() == 1, "withdrawal stops collection as easily"
        terminal.close()
    async with services.database.session() as db:
        assert (await db.get(User, minor_id)).guardian_id == guardian_id


async def test_a_minor_uploads_recordings_only_with_consent(client, services):
    from helpers.accounts import sign_up

    today = datetime.now(UTC).date()
    headers, _ = await sign_up(
        client, services, "teen2@example.com", date_of_birth=date(today.year - 15, 1, 1).isoformat()
    )
    files = {"file": ("clip.mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64, "video/mp4")}
    refused = await client.post("/api/v1/media", headers=headers, files=files)
    assert refused.status_code == 403 and refused.json()["code"] == "consent_required"
    tus = await client.post(
        "/api/v1/media/uploads", headers=headers | {"Tus-Resumable": "1.0.0", "Upload-Length": "80"}
    )
    assert tus.status_code == 403
    assert (await client.get("/api/v1/media", headers=headers)).json() == []
