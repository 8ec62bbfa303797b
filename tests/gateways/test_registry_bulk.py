"""The device registry in bulk (issue 13): a warm-up at start and concurrent first lookups
batched into a few queries give the same answers as one device at a time, the privacy gates
included; strangers still go to the pending list. Real databases, no gateway."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import event, select

from camtel.accounts.models import Membership, Organization, User
from camtel.devices.models import Device, PendingDevice
from camtel.gateways.registry import DeviceRef, Registry
from camtel.privacy import consent
from camtel.privacy.consent import Channel, Outcome, Purpose
from camtel.privacy.rights_models import PrivacyRequest
from camtel.privacy.tracking import may_collect_location
from camtel.services import Services
from helpers.ingest import running_ingest

NOW = datetime.now(UTC).replace(microsecond=0)
ADULT = date(NOW.year - 30, 1, 1)
MINOR = date(NOW.year - 15, 1, 1)


def phone(n: int) -> str:
    return f"0139777{n:05d}"


NUMBERS = itertools.count(1)


class Builder:
    """Makes people, organisations and devices in one session."""

    def __init__(self, db: Any) -> None:
        self.db = db

    async def person(self, *, born: date = ADULT, guardian: User | None = None) -> User:
        user = User(
            email=f"p{next(NUMBERS)}-{uuid.uuid4().hex[:6]}@example.com",
            phone="+4915123456780",
            password_hash="x",
            date_of_birth=born,
            guardian_id=guardian.id if guardian else None,
        )
        self.db.add(user)
        await self.db.flush()
        return user

    async def organisation(self, *members: User) -> Organization:
        org = Organization(name="Org")
        self.db.add(org)
        await self.db.flush()
        self.db.add_all(
            Membership(user_id=m.id, organization_id=org.id, role="driver") for m in members
        )
        await self.db.flush()
        return org

    async def device(self, org: Organization, driver: User | None = None, **attributes: Any) -> str:
        unique_id = phone(next(NUMBERS))
        self.db.add(
            Device(
                organization_id=org.id,
                name=unique_id,
                unique_id=unique_id,
                protocol="jt808",
                driver_id=driver.id if driver else None,
                attributes=attributes,
            )
        )
        await self.db.flush()
        return unique_id

    async def decide(
        self,
        user: User,
        purpose: Purpose,
        outcome: Outcome,
        *,
        by: User | None = None,
        ago_s: int = 0,
    ) -> None:
        await consent.record(
            self.db,
            user_id=user.id,
            purpose=purpose,
            outcome=outcome,
            channel=Channel.GUARDIAN if by else Channel.API,
            actor_id=by.id if by else None,
            now=NOW - timedelta(seconds=ago_s),
        )

    async def erasure(self, user: User, status: str = "received") -> None:
        self.db.add(PrivacyRequest(kind="erasure", user_id=user.id, status=status, due_at=NOW))
        await self.db.flush()


async def make_fleet(services: Services, copies: int = 1) -> dict[str, bool]:
    """Every case the gates distinguish, `copies` times over: unique id -> the expected
    collect_location."""
    expected: dict[str, bool] = {}
    share = Purpose.SHARE_LOCATION_WITH_ORGANISATION
    async with services.database.session() as db:
        b = Builder(db)
        for _ in range(copies):
            manager, driver, objector, refuser, changed_mind, erased, done = [
                await b.person() for _ in range(7)
            ]
            guardian, former = await b.person(), await b.person()
            ward, unconsented, other_ward = (
                await b.person(born=MINOR, guardian=guardian),
                await b.person(born=MINOR, guardian=guardian),
                await b.person(born=MINOR, guardian=guardian),
            )
            fleet = await b.organisation(
                manager, driver, objector, refuser, changed_mind, erased, done, ward
            )
            await b.decide(objector, share, Outcome.WITHDRAWN)
            await b.decide(refuser, share, Outcome.REFUSED)
            await b.decide(changed_mind, share, Outcome.WITHDRAWN, ago_s=60)
            await b.decide(changed_mind, share, Outcome.GIVEN)
            await b.decide(ward, Purpose.GUARDIAN_LOCATION, Outcome.GIVEN, by=guardian)
            # A former guardian's consent does not count.
            await b.decide(other_ward, Purpose.GUARDIAN_LOCATION, Outcome.GIVEN, by=former)
            await b.erasure(erased)
            await b.erasure(done, status="done")
            own_objector = await b.person()
            await b.decide(own_objector, share, Outcome.WITHDRAWN)

            expected[await b.device(fleet, speed_limit_kmh=80)] = True  # no driver, shared
            expected[await b.device(await b.organisation())] = True  # nobody's
            expected[await b.device(fleet, driver)] = True  # adult, no decision
            expected[await b.device(fleet, objector)] = False
            expected[await b.device(fleet, refuser)] = False
            expected[await b.device(fleet, changed_mind)] = True  # the latest decision counts
            expected[await b.device(fleet, erased)] = False  # erasure under way
            expected[await b.device(fleet, done)] = True  # erasure finished long ago
            expected[await b.device(fleet, ward)] = True  # minor, guardian consented
            expected[await b.device(fleet, unconsented)] = False  # minor without consent
            expected[await b.device(await b.organisation(unconsented))] = False  # their own car
            expected[await b.device(await b.organisation(other_ward))] = False
            # Their own car: an objection to sharing with an organisation does not apply...
            expected[await b.device(await b.organisation(own_objector))] = True
            expected[await b.device(await b.organisation(own_objector), own_objector)] = True
            # ...but an erasure does, driver or only member.
            expected[await b.device(await b.organisation(erased))] = False
    return expected


async def one_at_a_time(services: Services, unique_id: str) -> DeviceRef:
    """The single path: the device, then `may_collect_location` for it."""
    async with services.database.session() as db:
        device = await db.scalar(
            select(Device).where(Device.protocol == "jt808", Device.unique_id == unique_id)
        )
        assert device is not None
        allowed = await may_collect_location(db, device)
        return DeviceRef(device.id, "jt808", unique_id, dict(device.attributes), allowed)


@contextmanager
def statements(services: Services) -> Iterator[list[str]]:
    """The SQL statements the engine runs inside the block."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        seen.append(sql)

    engine = services.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


async def resolve_all(registry: Registry, unique_ids: list[str]) -> list[DeviceRef | None]:
    return list(await asyncio.gather(*(registry.resolve("jt808", u) for u in unique_ids)))


async def test_batched_and_warmed_answers_equal_the_single_path(services):
    fleet = await make_fleet(services)
    ids = list(fleet)
    single = [await one_at_a_time(services, u) for u in ids]
    assert {r.unique_id: r.collect_location for r in single} == fleet

    batched = await resolve_all(Registry(services.database), ids)
    assert batched == single

    warm = Registry(services.database)
    assert await warm.warm() == len(ids)
    with statements(services) as seen:
        warmed = await resolve_all(warm, ids)
    assert warmed == single
    assert seen == [], "answered from the warm cache"
    assert warm.counters["cache_hits"] == len(ids)


async def test_concurrent_first_lookups_take_a_constant_number_of_queries(services):
    small = await make_fleet(services)
    large = await make_fleet(services, copies=8)
    ids_small, ids_large = list(small), list(large)
    assert len(ids_large) > 100

    counts = []
    for ids in (ids_small, ids_large):
        registry = Registry(services.database)
        with statements(services) as seen:
            refs = await resolve_all(registry, ids)
        assert [r.collect_location if r else None for r in refs] == [
            (small | large)[u] for u in ids
        ]
        assert registry.counters["batches"] == 1
        counts.append(len(seen))
    assert counts[0] == counts[1], f"{len(ids_small)} and {len(ids_large)} lookups: {counts}"
    assert counts[1] <= 10, "a few queries, not two to four per device"


async def test_one_device_asked_for_by_many_connections_is_loaded_once(services):
    fleet = await make_fleet(services)
    unique_id = next(iter(fleet))
    registry = Registry(services.database)
    refs = await resolve_all(registry, [unique_id] * 20)
    assert len({r.id for r in refs if r}) == 1 and None not in refs
    assert registry.counters["lookups"] == 1


async def test_strangers_still_go_to_the_pending_list(services):
    fleet = await make_fleet(services)
    known = list(fleet)[:3]
    strangers = [phone(90_001), phone(90_002), phone(90_003)]
    registry = Registry(services.database)
    refs = await resolve_all(registry, [*known, *strangers, strangers[0]])
    assert [r is not None for r in refs] == [True] * 3 + [False] * 4
    assert registry.counters["unknown"] == 3

    again = await resolve_all(registry, strangers)
    assert again == [None] * 3
    assert registry.counters["cache_hits"] == 3, "a chatty stranger costs no write per message"
    async with services.database.session() as db:
        rows = list(await db.scalars(select(PendingDevice).order_by(PendingDevice.unique_id)))
    assert [(r.protocol, r.unique_id, r.attempts) for r in rows] == [
        ("jt808", u, 1) for u in strangers
    ]

    # Noted again after `unknown_ttl_s`, as before: one write per lookup reaching the database.
    later = Registry(services.database, unknown_ttl_s=0.0)
    await resolve_all(later, strangers)
    async with services.database.session() as db:
        attempts = list(await db.scalars(select(PendingDevice.attempts)))
    assert attempts == [2, 2, 2]


async def test_a_change_forgotten_while_it_is_read_is_not_cached(services):
    fleet = await make_fleet(services)
    unique_id = next(iter(fleet))
    registry = Registry(services.database)

    def forget_during_the_read(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        if "FROM devices" in sql:  # the device is changed and forgotten just as it is read
            registry.forget("jt808", unique_id)

    engine = services.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", forget_during_the_read)
    try:
        assert await registry.resolve("jt808", unique_id) is not None
    finally:
        event.remove(engine, "before_cursor_execute", forget_during_the_read)
    await registry.resolve("jt808", unique_id)
    assert registry.counters["lookups"] == 2, "read again, not served a stale answer"
    await registry.resolve("jt808", unique_id)
    assert registry.counters["cache_hits"] == 1


async def test_a_change_after_the_warm_up_takes_effect_once_forgotten(services):
    async with services.database.session() as db:
        b = Builder(db)
        manager, driver = await b.person(), await b.person()
        van = await b.device(await b.organisation(manager, driver), driver)
    registry = Registry(services.database)
    await registry.warm()
    assert (await registry.resolve("jt808", van)).collect_location

    async with services.database.session() as db:
        await Builder(db).decide(
            driver, Purpose.SHARE_LOCATION_WITH_ORGANISATION, Outcome.WITHDRAWN
        )
    registry.forget("jt808", van)  # what the API's device_changed does
    assert not (await registry.resolve("jt808", van)).collect_location

    async with services.database.session() as db:
        await db.delete(await db.scalar(select(Device).where(Device.unique_id == van)))
    registry.forget("jt808", van)
    assert await registry.resolve("jt808", van) is None, "a deleted device is a stranger"


async def test_ingest_warms_the_registry_at_start(services):
    fleet = await make_fleet(services)
    async with running_ingest(services) as ingest:
        assert ingest.registry.counters["warmed"] == len(fleet)
