"""P17: a fleet driver's share_location_with_organisation decision governs whether their
positions are stored, and takes effect on the very next message (the gateway's device cache
is warm). Real terminals over TCP through Ingest; decisions through the HTTP API."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from camtel.accounts.models import Membership, Organization, User
from camtel.devices.models import Device
from camtel.devices.models import Position as Row
from helpers.accounts import sign_up
from helpers.env import free_port
from helpers.ingest import Terminal, location_body, running_ingest

DRIVER_PHONE = "013955500011"
OWN_CAR_PHONE = "013955500012"
WARD_PHONE = "013955500013"
SHARE = "/api/v1/me/consents/share_location_with_organisation"


def bcd(utc: datetime) -> str:
    return (utc + timedelta(hours=8)).strftime("%y%m%d%H%M%S")


async def _stored(services, device_id: uuid.UUID) -> int:  # type: ignore[no-untyped-def]
    async with services.database.session() as db:
        return int(
            await db.scalar(select(func.count()).select_from(Row).where(Row.device_id == device_id))
        )


async def _own_org(services, user_id: str) -> uuid.UUID:  # type: ignore[no-untyped-def]
    async with services.database.session() as db:
        return await db.scalar(
            select(Membership.organization_id).where(Membership.user_id == uuid.UUID(user_id))
        )


class Clock:
    """Fix times one after another, so that no position is a duplicate of the last."""

    def __init__(self) -> None:
        self.at = (datetime.now(UTC) - timedelta(minutes=30)).replace(microsecond=0)

    def next(self) -> str:
        self.at += timedelta(seconds=10)
        return bcd(self.at)


async def _report(terminal: Terminal, clock: Clock) -> None:
    await terminal.send(0x0200, location_body(52.52, 13.40, clock.next()))
    assert (await terminal.reply())[0] == 0x8001, "acknowledged either way, so never resent"


async def test_a_drivers_objection_stops_storage_at_once_and_spares_their_own_car(client, services):
    driver_headers, driver_id = await sign_up(client, services, "driver@example.com")
    own_org = await _own_org(services, driver_id)
    async with services.database.session() as db:
        fleet = Organization(name="Fleet")
        manager = User(email="manager@example.com", phone="+4915123456780", password_hash="x")
        db.add_all([fleet, manager])
        await db.flush()
        db.add_all(
            [
                Membership(user_id=manager.id, organization_id=fleet.id, role="owner"),
                Membership(user_id=uuid.UUID(driver_id), organization_id=fleet.id, role="driver"),
            ]
        )
        van = Device(
            organization_id=fleet.id,
            name="Van",
            unique_id=DRIVER_PHONE,
            protocol="jt808",
            driver_id=uuid.UUID(driver_id),
        )
        car = Device(
            organization_id=own_org, name="My car", unique_id=OWN_CAR_PHONE, protocol="jt808"
        )
        db.add_all([van, car])
        await db.flush()
        van_id, car_id = van.id, car.id

    clock = Clock()
    async with running_ingest(services, jt808_port=free_port()) as ingest:
        # As the composition root does: device changes reach the gateways' cache.
        services.device_listeners.append(ingest.registry.forget)
        van_terminal = await Terminal(DRIVER_PHONE).connect(ingest.ports["jt808"])
        car_terminal = await Terminal(OWN_CAR_PHONE).connect(ingest.ports["jt808"])
        await van_terminal.login()
        await car_terminal.login()

        await _report(van_terminal, clock)
        assert await _stored(services, van_id) == 1, "no decision yet: the fleet's interest"

        hits = ingest.registry.counters["cache_hits"]
        withdrawn = await client.post(f"{SHARE}/withdraw", headers=driver_headers)
        assert withdrawn.status_code == 201, withdrawn.text
        await _report(van_terminal, clock)
        assert await _stored(services, van_id) == 1, "the very next position is not stored"
        assert ingest.sink.counters["positions_not_collected"] == 1

        await _report(car_terminal, clock)
        await _report(car_terminal, clock)
        assert await _stored(services, car_id) == 2, "their own car is never affected"

        await _report(van_terminal, clock)
        assert await _stored(services, van_id) == 1
        assert ingest.registry.counters["cache_hits"] > hits, "served from a warm cache"

        given = await client.post(f"{SHARE}/give", headers=driver_headers)
        assert given.status_code == 201, given.text
        await _report(van_terminal, clock)
        assert await _stored(services, van_id) == 2, "stored again once they agree"

        refused = await client.post(f"{SHARE}/refuse", headers=driver_headers)
        assert refused.status_code == 201
        await _report(van_terminal, clock)
        assert await _stored(services, van_id) == 2, "a refusal counts like a withdrawal"
        van_terminal.close()
        car_terminal.close()


async def test_a_guardians_decision_applies_to_the_next_message(client, services):
    guardian_headers, guardian_id = await sign_up(client, services, "parent2@example.com")
    today = datetime.now(UTC).date()
    _, minor_id = await sign_up(
        client,
        services,
        "teen3@example.com",
        date_of_birth=date(today.year - 15, 1, 1).isoformat(),
    )
    minor_org = await _own_org(services, minor_id)
    async with services.database.session() as db:
        (await db.get(User, uuid.UUID(minor_id))).guardian_id = uuid.UUID(guardian_id)
        scooter = Device(
            organization_id=minor_org, name="Scooter", unique_id=WARD_PHONE, protocol="jt808"
        )
        db.add(scooter)
        await db.flush()
        scooter_id = scooter.id
    decide = f"/api/v1/guardians/wards/{minor_id}/collection/location"

    clock = Clock()
    async with running_ingest(services, jt808_port=free_port()) as ingest:
        services.device_listeners.append(ingest.registry.forget)
        terminal = await Terminal(WARD_PHONE).connect(ingest.ports["jt808"])
        await terminal.login()
        await _report(terminal, clock)
        assert await _stored(services, scooter_id) == 0

        answer = await client.post(decide, headers=guardian_headers, json={"outcome": "given"})
        assert answer.status_code == 201, answer.text
        await _report(terminal, clock)
        assert await _stored(services, scooter_id) == 1, "no 60-second wait for the cache"

        answer = await client.post(decide, headers=guardian_headers, json={"outcome": "withdrawn"})
        assert answer.status_code == 201
        await _report(terminal, clock)
        assert await _stored(services, scooter_id) == 1
        terminal.close()
