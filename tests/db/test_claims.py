"""Leases on background work (camtel.db.claims): claimers never share a job, an expired lease
is taken over, and a job queued by a process that runs no worker is found by a worker's poll."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from camtel.db import claims
from camtel.db.engine import Database
from camtel.media.analysis import Analyzer
from camtel.media.derivatives import Redactor
from camtel.media.models import Media
from camtel.privacy.export_jobs import EXPORT
from camtel.privacy.rights_models import PrivacyRequest
from camtel.services import Services
from helpers import media as media_helpers
from helpers.accounts import sign_up
from helpers.media import clip, media_world, upload

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


async def _jobs(services: Services, count: int) -> list[uuid.UUID]:
    """`count` export requests waiting to be built."""
    async with services.database.session() as db:
        rows = [
            PrivacyRequest(
                kind="export", user_id=uuid.uuid4(), status="processing", due_at=T0, created_at=T0
            )
            for _ in range(count)
        ]
        db.add_all(rows)
        await db.flush()
        return [row.id for row in rows]


async def test_claimers_never_share_a_job(services):
    made = await _jobs(services, 40)
    # Eight processes, each with its own connections, claiming at once until nothing is left.
    databases = [Database(services.database.url) for _ in range(8)]

    async def claimer(database: Database, holder: str) -> list[uuid.UUID]:
        taken: list[uuid.UUID] = []
        while got := await claims.claim(database, EXPORT, now=T0, limit=3, holder=holder):
            taken += got
        return taken

    try:
        results = await asyncio.gather(
            *(claimer(database, f"worker-{n}") for n, database in enumerate(databases))
        )
    finally:
        for database in databases:
            await database.dispose()
    everything = [job for taken in results for job in taken]
    assert sorted(everything) == sorted(made), "every job claimed exactly once"
    async with services.database.session() as db:
        found = await db.execute(select(PrivacyRequest.id, PrivacyRequest.claimed_by))
        holders = {row.id: row.claimed_by for row in found}
    for n, taken in enumerate(results):
        assert all(holders[job] == f"worker-{n}" for job in taken)


# PostgreSQL only: SQLite has one writer at a time, so no claim is ever in progress beside
# another there.
@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
async def test_a_claim_skips_rows_locked_by_a_claim_in_progress(services, engine):
    first, second = await _jobs(services, 2)
    async with services.database.session() as db:
        # Another worker's claim, between its SELECT ... FOR UPDATE and its commit.
        await db.execute(
            select(PrivacyRequest.id).where(PrivacyRequest.id == first).with_for_update()
        )
        async with asyncio.timeout(5):  # skipped, not waited for
            got = await claims.claim(services.database, EXPORT, now=T0, limit=2, holder="b")
        assert got == [second]


async def test_an_expired_lease_is_taken_over(services):
    [job] = await _jobs(services, 1)
    db = services.database
    assert await claims.claim(db, EXPORT, now=T0, holder="dead") == [job]
    assert await claims.claim(db, EXPORT, now=T0 + timedelta(seconds=30), holder="b") == []
    # The holder renews while it works; when it stops (it died), the lease runs out.
    assert await claims.renew(db, EXPORT, [job], now=T0 + timedelta(seconds=30), holder="dead")
    later = T0 + timedelta(seconds=30) + claims.LEASE
    assert await claims.claim(db, EXPORT, now=later - timedelta(seconds=1), holder="b") == []
    assert await claims.claim(db, EXPORT, now=later + timedelta(seconds=1), holder="b") == [job]
    # The old holder, back from a pause, has lost it: it can neither renew nor give it back.
    assert await claims.renew(db, EXPORT, [job], now=later, holder="dead") == set()
    await claims.release(db, EXPORT, [job], holder="dead")
    async with db.session() as session:
        row = await session.get(PrivacyRequest, job)
        assert row is not None and row.claimed_by == "b"
    await claims.release(db, EXPORT, [job], holder="b")
    async with db.session() as session:
        row = await session.get(PrivacyRequest, job)
        assert row is not None and (row.claimed_by, row.claimed_until) == (None, None)
    # Work that is finished is never claimed, whatever its lease says.
    async with db.session() as session:
        row = await session.get(PrivacyRequest, job)
        assert row is not None
        row.status = "done"
    assert await claims.claim(db, EXPORT, now=later, holder="c") == []


@contextlib.asynccontextmanager
async def _worker(services: Services, maker: Analyzer | Redactor) -> AsyncIterator[None]:
    task = asyncio.create_task(maker.run())
    try:
        yield
    finally:
        maker.stop()
        await asyncio.wait_for(task, 30)


async def test_work_queued_by_an_api_node_is_found_by_a_polling_worker(services):
    """The API node (its own Services, no analyser, no redactor) takes an upload and a
    redacted share link; a worker process (other Services) polls, claims and does both."""
    worker = Services.build(services.settings.model_copy(update={"job_poll_s": 0.1}))
    try:
        analyzer = media_helpers.analyzer(worker)
        redactor = media_helpers.redactor(worker)
        async with media_world(services) as api:
            # The world's own analyser stands for another worker that is busy elsewhere.
            api.analyzer.stop()
            await asyncio.sleep(0)
            assert api.lib.analyzer is api.analyzer
            api.lib.analyzer = None
            headers, _ = await sign_up(api.http, api.services, "poll@example.com")
            mid = (await upload(api.http, headers, clip(), "p.mp4")).json()["id"]
            async with _worker(worker, analyzer), _worker(worker, redactor):
                await analyzer.idle(30)
                async with services.database.session() as db:
                    row = await db.get(Media, uuid.UUID(mid))
                    assert row is not None and row.status == "ready"
                    assert row.analysis_claimed_by is None, "given back when done"
                share = await api.http.post(
                    f"/api/v1/media/{mid}/shares", headers=headers, json={"redact": True}
                )
                assert share.status_code == 201 and share.json()["redaction"] == "pending"
                await redactor.idle(60)
                async with services.database.session() as db:
                    row = await db.get(Media, uuid.UUID(mid))
                    assert row is not None and row.redaction == "ready"
                    assert row.redaction_claimed_by is None
    finally:
        await worker.database.dispose()


async def test_a_recording_held_by_a_live_worker_is_left_to_it(services):
    async with media_world(services) as api:
        api.analyzer.stop()
        await asyncio.sleep(0)
        api.lib.analyzer = None
        headers, _ = await sign_up(api.http, api.services, "held@example.com")
        mid = uuid.UUID((await upload(api.http, headers, clip(), "h.mp4")).json()["id"])
        analysis = media_helpers.analyzer(services)
        analysis._pool = analysis._new_pool()  # what run() does
        # Another worker holds it (now, with a live lease): this one must not analyse it.
        now = services.clock()
        assert await claims.claim(
            services.database, analysis.claims.work, now=now, ids=[mid], holder="other"
        ) == [mid]
        await analysis.analyse(mid)
        async with services.database.session() as db:
            row = await db.get(Media, mid)
            assert row is not None and row.status == "processing"
        # The other worker died: once its lease ran out, this one takes over.
        analysis.claims.clock = lambda: now + claims.LEASE + timedelta(seconds=1)
        await analysis.analyse(mid)
        async with services.database.session() as db:
            row = await db.get(Media, mid)
            assert row is not None and row.status == "ready" and row.analysis_claimed_by is None
        analysis._pool.shutdown()
