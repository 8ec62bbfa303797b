"""Positions by month on PostgreSQL: the migration moves every fix into its month, coming
months are made ahead (taking over rows the default partition caught), and retention drops a
month whole only when every row in it has expired for everyone and nobody holds it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic import command
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.accounts.models import Organization
from camtel.config import Settings, sync_url
from camtel.db import migrate, partitions
from camtel.db.partitions import Month
from camtel.devices.models import Device, Position
from camtel.privacy.registry import Retention
from camtel.privacy.retention import month_cutoff, sweep
from camtel.privacy.rights_models import LegalHold, RetentionOverride

NOW = datetime(2026, 12, 7, 14, 30, tzinfo=UTC)
ON_POSTGRES = pytest.mark.parametrize("engine", ["postgresql"], indirect=True)


# Pure decisions


@given(st.integers(1970, 2200), st.integers(1, 12), st.integers(-40, 40))
def test_months_count_across_years(year: int, month: int, step: int) -> None:
    start = Month(year, month)
    moved = start.next(step)
    assert 1 <= moved.month <= 12
    assert (moved.year - year) * 12 + moved.month - month == step
    assert start.end == start.next().start and start.start < start.end


def test_the_current_month_and_three_ahead_are_wanted() -> None:
    assert partitions.wanted(NOW) == [Month(2026, 12), Month(2027, 1), Month(2027, 2),
                                      Month(2027, 3)]
    two_hours_east = timezone(timedelta(hours=2))
    assert Month.of(datetime(2027, 1, 1, 0, 30, tzinfo=two_hours_east)) == Month(2026, 12)


def test_only_months_wholly_before_the_cutoff_may_go() -> None:
    cutoff = datetime(2026, 9, 8, tzinfo=UTC)
    have = [Month(2026, 7), Month(2026, 8), Month(2026, 9), Month(2026, 10)]
    assert partitions.droppable(have, cutoff) == [Month(2026, 7), Month(2026, 8)]
    assert partitions.droppable(have, datetime(2026, 9, 1, tzinfo=UTC)) == [Month(2026, 7),
                                                                            Month(2026, 8)]


def test_the_longest_days_of_anyone_decide_when_a_month_may_go() -> None:
    rule = Retention("time", 90, held_by="device_id")
    assert month_cutoff(rule, NOW) == NOW - timedelta(days=90)
    assert month_cutoff(rule, NOW, [30, 400]) == NOW - timedelta(days=400)
    assert month_cutoff(rule, NOW, [30]) == NOW - timedelta(days=90)


def test_partitions_are_named_by_month_and_are_not_models() -> None:
    assert Month(2026, 1).name("positions") == "positions_y2026m01"
    assert partitions.month_of_partition("positions", "positions_y2026m01") == Month(2026, 1)
    assert partitions.month_of_partition("events", "positions_y2026m01") is None
    assert partitions.month_of_partition("positions", "positions") is None
    assert not partitions.include_name("positions_y2026m01", "table", {})
    assert not partitions.include_name("positions_default", "table", {})
    assert partitions.include_name("positions", "table", {})
    assert partitions.include_name("devices", "table", {})


# PostgreSQL


def _where(url: str) -> dict[datetime, str]:
    """Each stored fix's time -> the partition that holds it."""
    engine = create_engine(sync_url(url))
    with engine.connect() as db:
        rows = db.execute(text("SELECT time, tableoid::regclass::text FROM positions")).all()
    engine.dispose()
    return dict(rows)  # type: ignore[arg-type]


def test_the_migration_puts_each_fix_into_its_month_and_back(
    empty_postgres_url: str,
) -> None:
    url = Settings(database_url=empty_postgres_url).sqlalchemy_url
    migrate.upgrade(url, "0018")
    now = datetime.now(UTC)
    times = [
        datetime(1970, 1, 1, 0, 0, 5, tzinfo=UTC),  # a clock never set
        datetime(2025, 3, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2025, 4, 1, tzinfo=UTC),
        now - timedelta(minutes=1),
        datetime(now.year + 30, 1, 1, tzinfo=UTC),  # a clock far ahead
    ]
    engine = create_engine(sync_url(url))
    device = uuid.uuid4()
    with engine.begin() as db:
        org = uuid.uuid4()
        db.execute(text("INSERT INTO organizations (id, name, created_at) "
                        "VALUES (:id, 'O', now())"), {"id": org})
        db.execute(text("INSERT INTO devices (id, organization_id, name, unique_id, protocol, "
                        "attributes, created_at) "
                        "VALUES (:id, :org, 'v', '1', 'jt808', '{}', now())"),
                   {"id": device, "org": org})
        for n, at in enumerate(times):
            db.execute(text("INSERT INTO positions (device_id, time, dedup, server_time, latitude, "
                            "longitude, valid, source, satellites, extra) VALUES (:d, :t, :n, :t, "
                            "52.5, 13.4, true, 'gps', :n, '{\"note\": \"kept\"}')"),
                       {"d": device, "t": at, "n": n})
    engine.dispose()

    migrate.upgrade(url)
    where = _where(url)
    assert where == {
        times[0]: "positions_y1970m01",
        times[1]: "positions_y2025m03",
        times[2]: "positions_y2025m04",
        times[3]: Month.of(now).name("positions"),
        times[4]: "positions_default",
    }
    engine = create_engine(sync_url(url))
    with engine.connect() as db:
        made = set(db.execute(text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'positions'::regclass")).scalars())
        kept = db.execute(text("SELECT satellites, extra FROM positions ORDER BY time")).all()
    engine.dispose()
    assert {m.name("positions") for m in partitions.wanted(now)} <= made
    assert kept == [(n, {"note": "kept"}) for n in range(5)]

    command.downgrade(migrate.alembic_config(url), "0018")
    engine = create_engine(sync_url(url))
    with engine.connect() as db:
        back = db.execute(text("SELECT time, satellites FROM positions ORDER BY time")).all()
        kind = db.execute(text("SELECT relkind FROM pg_class WHERE relname = 'positions'")).scalar()
    engine.dispose()
    assert back == [(t, n) for n, t in enumerate(times)] and kind == "r"


async def _device(db: AsyncSession) -> uuid.UUID:
    org = Organization(name="Fleet")
    db.add(org)
    await db.flush()
    device = Device(organization_id=org.id, name="Van", unique_id=uuid.uuid4().hex[:12],
                    protocol="jt808")
    db.add(device)
    await db.flush()
    return device.id


def _fix(device: uuid.UUID, at: datetime) -> Position:
    return Position(device_id=device, time=at, dedup=0, server_time=at, latitude=52.5,
                    longitude=13.4, valid=True, source="gps")


async def _holders(services, device: uuid.UUID) -> dict[datetime, str]:  # type: ignore[no-untyped-def]
    async with services.database.session() as db:
        rows = await db.execute(
            text("SELECT time, tableoid::regclass::text FROM positions WHERE device_id = :d"),
            {"d": device},
        )
        return dict(rows.all())  # type: ignore[arg-type]


@ON_POSTGRES
async def test_coming_months_are_made_and_take_over_what_the_default_caught(services) -> None:
    later = datetime.now(UTC) + timedelta(days=200)  # beyond the months the migration made
    async with services.database.session() as db:
        device = await _device(db)
        db.add(_fix(device, later))
    assert (await _holders(services, device))[later] == "positions_default"

    async with services.database.engine.begin() as db:
        made = await partitions.ensure(db, later)
    async with services.database.engine.begin() as db:
        again = await partitions.ensure(db, later)
    assert Month.of(later).name("positions") in made and again == []
    assert (await _holders(services, device))[later] == Month.of(later).name("positions")
    with pytest.raises(IntegrityError, match="duplicate key"):  # the key refuses a resend
        async with services.database.session() as db:
            db.add(_fix(device, later))


@ON_POSTGRES
async def test_retention_drops_a_month_whole_only_when_all_of_it_expired_for_everyone(
    services,
) -> None:
    now = datetime.now(UTC)
    old = Month.of(now - timedelta(days=150))  # wholly before the 90 days
    edge = Month.of(now - timedelta(days=90))  # straddles the cutoff
    at_old, at_edge = old.start + timedelta(days=3), now - timedelta(days=91)
    recent = now - timedelta(days=1)
    async with services.database.engine.begin() as db:
        for month in (old, edge):
            if month not in await partitions.months(db, "positions"):
                for statement in partitions.create_statements("positions", "time", month):
                    await db.execute(text(statement))
    async with services.database.session() as db:
        held, free = await _device(db), await _device(db)
        org = (await db.get(Device, held)).organization_id  # type: ignore[union-attr]
        for device in (held, free):
            db.add_all([_fix(device, at_old), _fix(device, at_edge), _fix(device, recent)])
        db.add(LegalHold(organization_id=org, device_id=held, reason="claim"))

    async with services.database.session() as db:
        counts = await sweep(db, now=now)
    assert "positions (months dropped)" not in counts, "a held device's month stays"
    assert set(await _holders(services, held)) == {at_old, at_edge, recent}
    assert set(await _holders(services, free)) == {recent}, "the rest deleted row by row"

    async with services.database.session() as db:
        await db.execute(LegalHold.__table__.update().values(released_at=now))
        db.add(RetentionOverride(organization_id=org, table_name="positions", days=400))
    async with services.database.session() as db:
        db.add_all([_fix(free, at_old)])
        counts = await sweep(db, now=now)
    assert "positions (months dropped)" not in counts, "an organisation keeps 400 days"
    assert set(await _holders(services, held)) == {at_old, at_edge, recent}
    assert set(await _holders(services, free)) == {recent}

    async with services.database.session() as db:
        await db.execute(RetentionOverride.__table__.delete())
    async with services.database.session() as db:
        counts = await sweep(db, now=now)
        have = await partitions.months(await db.connection(), "positions")
        left = await db.scalar(select(func.count()).select_from(Position))
    assert counts["positions (months dropped)"] >= 1 and old not in have and edge in have
    assert set(await _holders(services, held)) == {recent} and left == 2
