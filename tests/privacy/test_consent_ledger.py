"""The consent ledger on both engines: append-only in the database itself, asked by processing
code, and gone only with its person."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from camtel.accounts.models import User
from camtel.accounts.service import create_account
from camtel.privacy import consent, minors
from camtel.privacy.consent import Channel, Outcome, Purpose
from camtel.privacy.models import ConsentRecord
from camtel.privacy.rights_models import PrivacyRequest
from helpers.accounts import PASSWORD

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def _person(db, email: str, born: date | None = None) -> User:  # type: ignore[no-untyped-def]
    return await create_account(
        db,
        email=email,
        phone="+4915123456789",
        password=PASSWORD,
        min_length=8,
        now=NOW,
        date_of_birth=born,
        verified=True,
    )


async def test_withdrawal_stops_processing_at_once(services):
    async with services.database.session() as db:
        person = await _person(db, "ledger@example.com")
        assert not await consent.allows(db, person.id, Purpose.ANALYTICS), "opt-in by default"
        await consent.give(
            db, user_id=person.id, purpose=Purpose.ANALYTICS, channel=Channel.API, now=NOW
        )
        assert await consent.allows(db, person.id, Purpose.ANALYTICS)
        assert not await consent.allows(db, person.id, Purpose.MARKETING_EMAIL)
        await consent.withdraw(
            db,
            user_id=person.id,
            purpose=Purpose.ANALYTICS,
            channel=Channel.WEB,
            now=NOW + timedelta(seconds=1),
        )
        assert not await consent.allows(db, person.id, Purpose.ANALYTICS)
        history = await consent.history(db, person.id)
        assert [(r.outcome, r.channel) for r in history] == [("given", "api"), ("withdrawn", "web")]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE consent_records SET outcome = 'given'",
        "UPDATE consent_records SET time = time",
        "UPDATE consent_records SET actor_id = NULL",
        "DELETE FROM consent_records",
    ],
)
async def test_the_database_refuses_to_change_or_delete_a_record(services, statement):
    async with services.database.session() as db:
        person = await _person(db, "append@example.com")
        await consent.record(
            db,
            user_id=person.id,
            purpose=Purpose.DIAGNOSTICS,
            outcome=Outcome.REFUSED,
            channel=Channel.API,
            actor_id=person.id,
            now=NOW,
        )
    with pytest.raises((IntegrityError, DBAPIError)) as caught:
        async with services.database.session() as db:
            await db.execute(text(statement))
    assert "append-only" in str(caught.value)
    async with services.database.session() as db:
        rows = list(await db.scalars(select(ConsentRecord)))
        assert [(r.outcome, r.actor_id is not None) for r in rows] == [("refused", True)]


async def test_records_go_with_their_person_and_a_gone_guardian_is_forgotten(services):
    async with services.database.session() as db:
        guardian = await _person(db, "guardian-ledger@example.com")
        minor = await _person(db, "minor-ledger@example.com", born=NOW.date().replace(year=2014))
        other = await _person(db, "other-ledger@example.com")
        minor.guardian_id = guardian.id
        await minors.decide(
            db,
            guardian=guardian,
            minor_id=minor.id,
            kind=minors.Kind.LOCATION,
            outcome=Outcome.GIVEN,
            now=NOW,
        )
        await consent.give(
            db, user_id=other.id, purpose=Purpose.ANALYTICS, channel=Channel.API, now=NOW
        )
        assert await minors.collection_allowed(db, minor.id, minors.Kind.LOCATION, today=NOW.date())
        assert not await minors.collection_allowed(
            db, minor.id, minors.Kind.VIDEO, today=NOW.date()
        )
        ids = guardian.id, minor.id, other.id
    async with services.database.session() as db:
        # The guardian's account is erased: the minor's record stays, without their id.
        await db.execute(delete(User).where(User.id == ids[0]))
    async with services.database.session() as db:
        record = await db.scalar(select(ConsentRecord).where(ConsentRecord.user_id == ids[1]))
        assert record is not None and record.actor_id is None
        assert not await minors.collection_allowed(
            db, ids[1], minors.Kind.LOCATION, today=NOW.date()
        ), "no guardian any more, so no collection"
        await db.execute(delete(User).where(User.id == ids[1]))
    async with services.database.session() as db:
        owners = list(await db.scalars(select(ConsentRecord.user_id)))
        assert owners == [ids[2]], "the other person's record is intact"


async def test_an_erasure_in_progress_may_remove_records(services):
    async with services.database.session() as db:
        person = await _person(db, "erasing@example.com")
        await consent.give(
            db, user_id=person.id, purpose=Purpose.ANALYTICS, channel=Channel.API, now=NOW
        )
        db.add(
            PrivacyRequest(
                kind="erasure",
                user_id=person.id,
                status="in_progress",
                due_at=NOW + timedelta(days=30),
                created_at=NOW,
            )
        )
        person_id = person.id
    async with services.database.session() as db:
        await db.execute(delete(ConsentRecord).where(ConsentRecord.user_id == person_id))
        assert await db.scalar(select(func.count()).select_from(ConsentRecord)) == 0
        await db.execute(
            update(PrivacyRequest).where(PrivacyRequest.user_id == person_id).values(status="done")
        )


def test_breach_notify_command_function_is_idempotent(settings):
    import asyncio

    from camtel.db.engine import Database
    from camtel.privacy import breaches

    async def seed() -> str:
        database = Database(settings.sqlalchemy_url)
        try:
            async with database.session() as db:
                person = await _person(db, f"cli-breach-{uuid.uuid4().hex[:8]}@example.com")
                await consent.give(
                    db,
                    user_id=person.id,
                    purpose=Purpose.MARKETING_EMAIL,
                    channel=Channel.CLI,
                    now=NOW,
                )
                breach = await breaches.record_breach(
                    db,
                    recorded_by=None,
                    detected_at=NOW,
                    description="The consent ledger was readable by a test.",
                    categories=["consent"],
                    now=NOW,
                )
                return str(breach.id)
        finally:
            await database.dispose()

    breach_id = asyncio.run(seed())
    first = breaches.notify_breach(settings, breach_id)
    assert first["notified"] >= 1 and first["affected"] == first["notified"]
    second = breaches.notify_breach(settings, breach_id)
    assert second["notified"] == 0 and second["already_told"] == first["notified"]
