"""Leases on rows of background work, so that any worker can take any job and a dead
worker's job is taken over.

A job is a row in a state that asks for work (a recording `processing`, a copy `pending`, an
export `processing`). Claiming it writes this process's id and a lease end into two columns of
the row; the holder renews the lease while it works and clears it when done. A row whose
lease ended (its holder died or hung) is free again. On PostgreSQL the rows are picked with
`SELECT ... FOR UPDATE SKIP LOCKED`, so concurrent claimers take disjoint rows without waiting
on each other; SQLite has one writer at a time, so one `UPDATE ... RETURNING` whose condition
re-checks the lease is atomic.

Lease times come from the process's clock: the machines of a deployment keep their clocks in
step (NTP), and a lease is long against any drift between them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Table, or_, select, update

from camtel.db.engine import Database

log = logging.getLogger(__name__)

#: This process, as written into `claimed_by` (host, pid and a random part for pid reuse).
HOLDER = f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"
#: How long a claim holds without renewal; the holder renews every third of it.
LEASE = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class Work:
    """One kind of job: its table, the condition of a row waiting for it, and the columns
    that hold the claim."""

    name: str
    table: Table
    wanted: Callable[[], ColumnElement[bool]]
    by: str = "claimed_by"
    until: str = "claimed_until"


def _free(work: Work, now: datetime, holder: str | None) -> ColumnElement[bool]:
    """Rows nobody holds (never claimed, released, expired), or already `holder`'s."""
    until = work.table.c[work.until]
    free = or_(until.is_(None), until < now)
    return free if holder is None else or_(free, work.table.c[work.by] == holder)


async def claim(
    database: Database,
    work: Work,
    *,
    now: datetime,
    limit: int = 1,
    ids: Iterable[uuid.UUID] | None = None,
    holder: str = HOLDER,
    lease: timedelta = LEASE,
) -> list[uuid.UUID]:
    """Claim up to `limit` rows waiting for `work` (only among `ids` when given); the ids
    taken, oldest first. A row held by someone else under a live lease is never taken."""
    table = work.table
    key = table.c.id
    # A row asked for by id may already be ours (a poll took it); a poll takes only free rows.
    free = _free(work, now, holder if ids is not None else None)
    pick = select(key).where(work.wanted(), free)
    if ids is not None:
        wanted_ids = list(ids)
        if not wanted_ids:
            return []
        pick = pick.where(key.in_(wanted_ids))
    pick = pick.order_by(key).limit(limit)
    values = {work.by: holder, work.until: now + lease}
    async with database.session() as db:
        if database.dialect == "postgresql":
            chosen = list(await db.scalars(pick.with_for_update(skip_locked=True)))
            if chosen:
                await db.execute(update(table).where(key.in_(chosen)).values(values))
            return chosen
        # SQLite: one statement, serialised with every other writer.
        taken = await db.scalars(
            update(table)
            .where(key.in_(pick.correlate(None).scalar_subquery()), free)
            .values(values)
            .returning(key)
        )
        return sorted(taken)


async def renew(
    database: Database,
    work: Work,
    ids: Iterable[uuid.UUID],
    *,
    now: datetime,
    holder: str = HOLDER,
    lease: timedelta = LEASE,
) -> set[uuid.UUID]:
    """Extend the leases still ours among `ids`; the ids we still hold."""
    wanted_ids = list(ids)
    if not wanted_ids:
        return set()
    table = work.table
    async with database.session() as db:
        kept = await db.scalars(
            update(table)
            .where(table.c.id.in_(wanted_ids), table.c[work.by] == holder)
            .values({work.until: now + lease})
            .returning(table.c.id)
        )
        return set(kept)


async def release(
    database: Database, work: Work, ids: Iterable[uuid.UUID], *, holder: str = HOLDER
) -> None:
    """Give back our claims among `ids` (done, or given up)."""
    wanted_ids = list(ids)
    if not wanted_ids:
        return
    table = work.table
    async with database.session() as db:
        await db.execute(
            update(table)
            .where(table.c.id.in_(wanted_ids), table.c[work.by] == holder)
            .values({work.by: None, work.until: None})
        )


class Claims:
    """This process's claims on one kind of work: what it holds, kept renewed, and the poll
    that finds work queued by other processes (or left by dead ones)."""

    def __init__(
        self,
        database: Database,
        work: Work,
        *,
        clock: Callable[[], datetime],
        lease: timedelta = LEASE,
        holder: str = HOLDER,
    ) -> None:
        self.database = database
        self.work = work
        self.clock = clock
        self.lease = lease
        self.holder = holder
        self.held: set[uuid.UUID] = set()
        self._wake = asyncio.Event()
        self._claiming = 0  # polls between claiming rows and handing them to `found`
        self._handed = 0  # rows handed to `found` so far

    async def take(
        self, *, limit: int = 1, ids: Iterable[uuid.UUID] | None = None
    ) -> list[uuid.UUID]:
        """Claim up to `limit` waiting rows (among `ids` when given)."""
        taken = await claim(
            self.database,
            self.work,
            now=self.clock(),
            limit=limit,
            ids=ids,
            holder=self.holder,
            lease=self.lease,
        )
        self.held.update(taken)
        return taken

    async def take_one(self, row_id: uuid.UUID) -> bool:
        """Claim one given row; False when another process holds it or it needs no work."""
        return bool(await self.take(ids=[row_id]))

    async def work_on(
        self,
        row_id: uuid.UUID,
        job: Callable[[uuid.UUID], Awaitable[None]],
        *,
        working: set[uuid.UUID],
    ) -> None:
        """Claim a row, run `job` on it and give the claim back. A row in `working` (queued
        twice: submitted here and found by the poll) or held by another process is left
        alone; a job that fails keeps its claim until the lease runs out (`forget`)."""
        if row_id in working:
            return
        working.add(row_id)
        try:
            if not await self.take_one(row_id):
                return
            await job(row_id)
            await self.done(row_id)
        except Exception:
            self.forget(row_id)
            raise
        finally:
            working.discard(row_id)

    def holds(self, by: str | None) -> bool:
        """Whether a row whose `claimed_by` reads `by` is still ours (checked before saving
        a result, so a worker whose lease was taken over does not overwrite the new holder)."""
        return by == self.holder

    async def done(self, row_id: uuid.UUID) -> None:
        """Give back a row's claim."""
        self.held.discard(row_id)
        await release(self.database, self.work, [row_id], holder=self.holder)

    def forget(self, row_id: uuid.UUID) -> None:
        """Stop renewing a row's claim without giving it back: it is retried (by any process)
        once its lease runs out, not at once (a job that crashed its worker would loop)."""
        self.held.discard(row_id)

    def wake(self) -> None:
        """Poll now rather than at the next interval (a worker has room again)."""
        self._wake.set()

    async def waiting(self) -> bool:
        """Whether a row waits for this work that nobody holds."""
        work = self.work
        pick = select(work.table.c.id).where(work.wanted(), _free(work, self.clock(), None))
        async with self.database.session() as db:
            return (await db.scalar(pick.limit(1))) is not None

    async def settled(self, queue: asyncio.Queue[Any]) -> None:
        """Wait until `queue` is worked off and no row waits unclaimed (tests, demos); a row
        the poll is claiming counts as waiting until it is queued."""
        while True:
            handed = self._handed
            await queue.join()
            # Idle only if no poll claimed, or handed over, a row while we looked.
            if (
                not self._claiming
                and not await self.waiting()
                and not self._claiming
                and self._handed == handed
            ):
                return
            self.wake()
            await asyncio.sleep(0.05)

    @contextlib.asynccontextmanager
    async def holding(self, row_id: uuid.UUID) -> AsyncIterator[bool]:
        """Claim one row for the block (False: another process holds it, or it needs no work),
        renewed meanwhile; given back after it, or kept until its lease ends when it fails."""
        if not await self.take_one(row_id):
            yield False
            return
        renewing = asyncio.create_task(self._renew_every(), name=f"{self.work.name}-lease")
        failed = False
        try:
            yield True
        except BaseException:
            failed = True
            raise
        finally:
            renewing.cancel()
            if failed:
                self.forget(row_id)
            else:
                await self.done(row_id)

    async def _renew_every(self) -> None:
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            try:
                await self.renew()
            except Exception:
                log.exception("renewing %s claims failed", self.work.name)

    async def renew(self) -> None:
        """Extend every lease we hold; forget the ones lost to another process."""
        if not self.held:
            return
        asked = set(self.held)
        kept = await renew(
            self.database, self.work, asked, now=self.clock(), holder=self.holder, lease=self.lease
        )
        lost = asked - kept
        if lost:
            log.warning("claims lost", extra={"work": self.work.name, "count": len(lost)})
        self.held -= lost

    async def keep(
        self,
        *,
        every_s: float,
        room: Callable[[], int],
        found: Callable[[uuid.UUID], None],
    ) -> None:
        """Until cancelled: renew the leases held, and claim as many waiting rows as there is
        `room` for, handing each to `found`, every `every_s` seconds (and at once on start)."""
        renew_every = self.lease.total_seconds() / 3
        renewed = asyncio.get_running_loop().time()
        while True:
            try:
                now = asyncio.get_running_loop().time()
                if now - renewed >= renew_every:
                    await self.renew()
                    renewed = now
                free = room()
                if free > 0:
                    # Claimed rows are nobody's to `settled` until `found` has them queued.
                    self._claiming += 1
                    try:
                        for row_id in await self.take(limit=free):
                            found(row_id)
                            self._handed += 1
                    finally:
                        self._claiming -= 1
            except Exception:
                log.exception("claiming %s work failed", self.work.name)
            # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancellation
            # that arrives as the wait ends, and this loop then never stopped (a hang when the
            # analyser shut down, seen as a test's teardown timing out).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(every_s, renew_every)):
                    await self._wake.wait()
            self._wake.clear()
