"""The background chores: one per schedule, each runs on its own (a failing one holds back no
other), and every scheduled chore does its work against a real database."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from camtel.accounts.models import Organization
from camtel.app import Chore, repeat, schedule
from camtel.devices.models import Device, Position


async def test_a_failing_chore_holds_back_no_other() -> None:
    runs = {"broken": 0, "fine": 0}

    async def broken() -> None:
        runs["broken"] += 1
        raise RuntimeError("the store is away")

    async def fine() -> None:
        runs["fine"] += 1

    tasks = [asyncio.create_task(repeat(Chore(name, 0.001, run)))
             for name, run in (("broken", broken), ("fine", fine))]
    deadline = time.monotonic() + 10
    while min(runs.values()) < 3:
        assert time.monotonic() < deadline, runs
        await asyncio.sleep(0.01)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert all(task.cancelled() for task in tasks)


async def test_every_scheduled_chore_runs_and_retention_deletes_what_expired(services) -> None:
    now = datetime.now(UTC)
    async with services.database.session() as db:
        org = Organization(name="Fleet")
        db.add(org)
        await db.flush()
        device = Device(organization_id=org.id, name="Van", unique_id=uuid.uuid4().hex[:12],
                        protocol="osmand")
        db.add(device)
        await db.flush()
        for age in (100, 1):
            at = now - timedelta(days=age)
            db.add(Position(device_id=device.id, time=at, dedup=age, server_time=at,
                            latitude=52.5, longitude=13.4, valid=True, source="gps"))
    services.clock = lambda: now
    chores = schedule(services)
    assert len({chore.name for chore in chores}) == len(chores)
    for chore in chores:
        await chore.run()  # each completes on its own against the database
    async with services.database.session() as db:
        left = await db.scalars(select(Position.dedup))
        assert sorted(left) == [1], "the 100-day-old fix went, the day-old one stayed"
        assert await db.scalar(select(func.count()).select_from(Device)) == 1
