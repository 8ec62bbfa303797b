"""The daily digest: who is due (pure), what it says, and that it goes out once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from camtel.app import build_api
from camtel.mail.models import OutboxMail
from camtel.trips.digest import compose, digest_day, send_digests, who_is_due
from camtel.trips.models import DigestLog
from camtel.trips.reports import Summary
from helpers.accounts import join, sign_up
from helpers.trips import T0, add_device, commute, store

DAY = T0.date()
NEXT_MORNING = datetime.combine(DAY + timedelta(days=1), datetime.min.time(), UTC)


def test_the_day_is_yesterday_once_the_hour_has_come():
    assert digest_day(NEXT_MORNING + timedelta(hours=5, minutes=59)) is None
    assert digest_day(NEXT_MORNING + timedelta(hours=6)) == DAY
    assert digest_day(NEXT_MORNING + timedelta(hours=23)) == DAY
    assert digest_day(NEXT_MORNING, send_hour=0) == DAY
    local = (NEXT_MORNING + timedelta(hours=7)).astimezone(
        datetime.now().astimezone().tzinfo
    )  # any zone: the UTC day counts
    assert digest_day(local) == DAY


def test_who_is_due():
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    last = {a: DAY, b: DAY - timedelta(days=3)}
    assert who_is_due(day=DAY, recipients=[a, b, c], last_sent=last) == [b, c]
    assert who_is_due(day=None, recipients=[a, b, c], last_sent=last) == []
    assert who_is_due(day=DAY - timedelta(days=1), recipients=[a], last_sent=last) == []


def test_compose_says_nothing_when_nothing_happened():
    quiet = Summary(device_id=uuid.uuid4(), name="Idle van")
    assert compose(DAY, [("Fleet", [quiet])]) is None
    busy = Summary(
        device_id=uuid.uuid4(),
        name="Van 1",
        positions=90,
        trips=2,
        distance_m=42_300,
        driving_s=4320,
        idle_s=900,
        max_speed_kmh=96.4,
        events={"overspeed": 3},
    )
    mail = compose(date(2026, 3, 2), [("Fleet", [busy, quiet]), ("Empty", [])])
    assert mail is not None
    assert mail.subject == "camtel daily digest for 2026-03-02"
    assert "Van 1: 42.3 km, 2 trips, 1 h 12 min driving, 15 min idle, max 96 km/h" in mail.body
    assert "overspeed 3" in mail.body
    assert "(1 other devices reported nothing)" in mail.body
    assert "Empty" not in mail.body


@pytest.fixture
async def client(services):  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=build_api(services))
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as http:
        yield http


async def _digests(services, email: str) -> list[OutboxMail]:  # type: ignore[no-untyped-def]
    async with services.database.session() as db:
        return list(
            await db.scalars(
                select(OutboxMail).where(
                    OutboxMail.to_address == email, OutboxMail.subject.like("camtel daily%")
                )
            )
        )


async def test_digest_goes_once_to_owners_and_managers(client, services):
    owner, _ = await sign_up(client, services, "owner@example.com")
    device = await add_device(client, owner, "Van 1", "6001")
    await store(services, device, commute().fixes)
    await store(services, device, commute(T0 - timedelta(days=1)).fixes[:3])  # not that day
    driver, _ = await sign_up(client, services, "driver@example.com")
    orgs = (await client.get("/api/v1/organizations", headers=owner)).json()
    await join(client, owner, orgs[0]["id"], "driver@example.com", "driver", driver)

    assert (
        await send_digests(services.database, services.mailer, NEXT_MORNING + timedelta(hours=5))
        == 0
    ), "too early"
    at_six = NEXT_MORNING + timedelta(hours=6)
    both = await asyncio.gather(
        send_digests(services.database, services.mailer, at_six),
        send_digests(services.database, services.mailer, at_six),
    )
    assert sorted(both) == [0, 1], "two nodes at once: one mail"
    [mail] = await _digests(services, "owner@example.com")
    assert mail.subject == f"camtel daily digest for {DAY.isoformat()}"
    assert "Van 1: 9.0 km, 1 trips, 16 min driving" in mail.body
    assert await _digests(services, "driver@example.com") == [], "drivers get no digest"
    async with services.database.session() as db:
        logged = {(r.day, r.mailed) for r in await db.scalars(select(DigestLog))}
    assert logged == {(DAY, True), (DAY, False)}, "the driver owns an empty fleet: no mail"

    assert (
        await send_digests(services.database, services.mailer, NEXT_MORNING + timedelta(hours=9))
        == 0
    ), "once a day"
    assert len(await _digests(services, "owner@example.com")) == 1
    later = NEXT_MORNING + timedelta(days=1, hours=6)
    assert await send_digests(services.database, services.mailer, later) == 0, (
        "nothing happened the next day"
    )
