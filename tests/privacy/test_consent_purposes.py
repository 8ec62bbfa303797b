"""What the purposes govern, without I/O where the decision is pure; the devices a decision
about a person reaches; and anonymous visitors' records, append-only in the database."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from camtel.accounts.models import Membership, Organization, User
from camtel.devices.models import Device
from camtel.devices.service import tracking_devices
from camtel.privacy import consent
from camtel.privacy.consent import Channel, Outcome, Purpose
from camtel.privacy.models import ConsentRecord

NOW = datetime.now(UTC)


@dataclass
class D:
    outcome: str


@pytest.mark.parametrize(
    ("shared", "decision", "stored"),
    [
        (True, None, True),  # no record: the organisation's legitimate interest
        (True, D("given"), True),
        (True, D("withdrawn"), False),
        (True, D("refused"), False),
        (False, None, True),  # their own car
        (False, D("withdrawn"), True),
        (False, D("refused"), True),
    ],
)
def test_a_drivers_objection_governs_only_shared_organisations(shared, decision, stored):
    assert consent.organisation_may_locate(shared=shared, decision=decision) is stored


def test_visitor_ids_are_random_and_opaque():
    made = {consent.new_visitor_id() for _ in range(100)}
    assert len(made) == 100 and all(consent.is_visitor_id(v) for v in made)
    assert not consent.is_visitor_id("127.0.0.1") and not consent.is_visitor_id("a" * 33)


async def test_the_devices_a_persons_decision_reaches(services):
    async with services.database.session() as db:
        person = User(email="p@example.com", phone="+4915123456789", password_hash="x")
        boss = User(email="b@example.com", phone="+4915123456780", password_hash="x")
        own, fleet, family = (
            Organization(name="Own"),
            Organization(name="Fleet"),
            Organization(name="Family"),
        )
        db.add_all([person, boss, own, fleet, family])
        await db.flush()
        db.add_all(
            [
                Membership(user_id=person.id, organization_id=own.id, role="owner"),
                Membership(user_id=person.id, organization_id=fleet.id, role="driver"),
                Membership(user_id=boss.id, organization_id=fleet.id, role="owner"),
                Membership(user_id=person.id, organization_id=family.id, role="owner"),
                Membership(user_id=boss.id, organization_id=family.id, role="owner"),
            ]
        )

        def device(org, uid, driver=None):  # type: ignore[no-untyped-def]
            return Device(
                organization_id=org.id, name=uid, unique_id=uid, protocol="osmand", driver_id=driver
            )

        db.add_all(
            [
                device(own, "100001"),  # their own car
                device(fleet, "100002", person.id),  # the van they drive
                device(fleet, "100003", boss.id),  # someone else's van
                device(fleet, "100004"),  # a pool car nobody drives
                device(family, "100005"),  # a shared family car: no one person tracked
            ]
        )
        await db.flush()
        found = sorted(await tracking_devices(db, user_id=person.id))
    assert found == [("osmand", "100001"), ("osmand", "100002")]


async def _visitor_row(db, visitor: str, at: datetime) -> None:  # type: ignore[no-untyped-def]
    await consent.record(
        db,
        user_id=None,
        visitor_id=visitor,
        purpose=Purpose.ANALYTICS,
        outcome=Outcome.GIVEN,
        channel=Channel.WEB,
        now=at,
    )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE consent_records SET outcome = 'withdrawn'",
        "UPDATE consent_records SET visitor_id = 'ffffffffffffffffffffffffffffffff'",
        "DELETE FROM consent_records",
    ],
)
async def test_the_database_keeps_visitor_records(services, statement):
    visitor = consent.new_visitor_id()
    async with services.database.session() as db:
        await _visitor_row(db, visitor, NOW)
    with pytest.raises((IntegrityError, DBAPIError)) as caught:
        async with services.database.session() as db:
            await db.execute(text(statement))
    assert "append-only" in str(caught.value)
    async with services.database.session() as db:
        rows = list(await db.scalars(select(ConsentRecord)))
    assert [(r.visitor_id, r.outcome) for r in rows] == [(visitor, "given")]


async def test_a_visitor_record_goes_only_after_its_retention(services):
    old, recent = consent.new_visitor_id(), consent.new_visitor_id()
    async with services.database.session() as db:
        await _visitor_row(db, old, NOW - timedelta(days=consent.VISITOR_RETENTION_DAYS + 1))
        await _visitor_row(db, recent, NOW - timedelta(days=consent.VISITOR_RETENTION_DAYS - 1))
    async with services.database.session() as db:
        await db.execute(delete(ConsentRecord).where(ConsentRecord.visitor_id == old))
    with pytest.raises((IntegrityError, DBAPIError)):
        async with services.database.session() as db:
            await db.execute(delete(ConsentRecord).where(ConsentRecord.visitor_id == recent))
    async with services.database.session() as db:
        assert list(await db.scalars(select(ConsentRecord.visitor_id))) == [recent]


async def test_a_record_names_exactly_one_subject(services):
    for user_id, visitor in ((None, None), (uuid.uuid4(), consent.new_visitor_id())):
        async with services.database.session() as db:
            with pytest.raises(ValueError):
                await consent.record(
                    db,
                    user_id=user_id,
                    visitor_id=visitor,
                    purpose=Purpose.ANALYTICS,
                    outcome=Outcome.GIVEN,
                    channel=Channel.WEB,
                    now=NOW,
                )
    with pytest.raises(IntegrityError):  # and the database agrees, whatever the code does
        async with services.database.session() as db:
            db.add(
                ConsentRecord(
                    purpose="analytics",
                    outcome="given",
                    channel="web",
                    time=NOW,
                    policy_version=None,
                )
            )
