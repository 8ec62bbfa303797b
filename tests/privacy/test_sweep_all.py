"""Retention as a whole (P9, P14): `camtel privacy sweep` and the hourly chores run the same
list (`camtel.app.retention_chores`), and after either one, what has outlived its retention is
gone from the database *and* from the media store, while what has not is still there; and the
registry holds no time-limited category that nothing deletes."""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from typer.testing import CliRunner

import camtel.schema  # noqa: F401  every model, for the privacy engine
from camtel.app import retention_chores, schedule, sweep_all
from camtel.cli import app as cli
from camtel.devices.models import Position
from camtel.media.models import Media, MediaShare
from camtel.privacy.export_jobs import export_dir
from camtel.privacy.models import AnalyticsHit, Breach, DiagnosticsReport, Disclosure
from camtel.privacy.registry import REGISTRY, YEAR
from camtel.privacy.rights_models import PrivacyRequest
from helpers import factories
from helpers.accounts import sign_up
from helpers.media import clip, media_world, settled, upload

# The registry


_LIMIT = re.compile(r"(\d+)\s*(hour|day|week|month|year)s?\b")
_DAYS = {"day": 1, "week": 7, "month": 30, "year": YEAR}


def _time_limited(text: str) -> bool:
    return bool(_LIMIT.search(text)) or "end of the day" in text


def test_every_time_limited_category_has_something_that_deletes_it(services):
    chores = {chore.name for chore in retention_chores(services)}
    nothing = [
        name
        for name, entry in REGISTRY.items()
        if _time_limited(entry.retention) and not entry.sweep and not entry.swept_by
    ]
    assert nothing == [], "kept for a time, but nothing deletes them"
    unknown = {e.swept_by for e in REGISTRY.values() if e.swept_by} - chores
    assert unknown == set(), "swept by a chore that does not exist"


def test_each_day_rule_keeps_what_the_registry_says():
    for name, entry in REGISTRY.items():
        for rule in entry.sweep:
            if rule.days is None:  # the column is the expiry time
                continue
            said = _LIMIT.search(entry.retention)
            assert said is not None, f"{name}: a rule of {rule.days} days but no time said"
            number, unit = int(said.group(1)), said.group(2)
            if unit == "month" and number % 12 == 0:
                number, unit = number // 12, "year"
            assert rule.days == number * _DAYS[unit], f"{name}: says {said.group(0)}"


# Everything, swept


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


async def _count(services, model, *where) -> int:  # type: ignore[no-untyped-def]
    async with services.database.session() as db:
        return int(await db.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _cli_sweep(settings) -> str:  # type: ignore[no-untyped-def]
    env = {
        "CAMTEL_DATA_DIR": str(settings.data_dir),
        "CAMTEL_DATABASE_URL": settings.database_url,
    }
    result = CliRunner().invoke(cli, ["privacy", "sweep"], env=env)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("how", ["cli", "hourly"])
async def test_the_sweep_deletes_what_has_outlived_its_retention_and_nothing_else(
    services, settings, how
):
    now = datetime.now(UTC)
    store_root = settings.data_dir / "media"
    async with media_world(services) as world:
        headers, _ = await sign_up(world.http, services, "owner@example.com")
        old_id = (await upload(world.http, headers, clip(), "old.mp4")).json()["id"]
        new_id = (await upload(world.http, headers, clip(), "new.mp4")).json()["id"]
        for media_id in (old_id, new_id):
            assert (await settled(world.http, headers, media_id))["status"] == "ready"
        shared = await world.http.post(f"/api/v1/media/{new_id}/shares", headers=headers, json={})
        assert shared.status_code == 201, shared.text
        device = await world.http.post(
            "/api/v1/devices",
            headers=headers,
            json={"name": "Van", "unique_id": "sweep-1", "protocol": "osmand"},
        )
        device_id = uuid.UUID(device.json()["id"])
    old_files = {f for f in _files(store_root) if old_id in f}
    assert old_files, "the old recording's objects are in the store"
    async with services.database.session() as db:
        await db.execute(
            update(Media).where(Media.id == uuid.UUID(old_id)).values(
                created_at=now - timedelta(days=31)  # normal recordings: 30 days
            )
        )
        await db.execute(update(MediaShare).values(revoked_at=now - timedelta(days=31)))
        for days in (91, 1):  # positions: 90 days
            await factories.position(db, device_id, now - timedelta(days=days))
        for expires in (now - timedelta(minutes=1), now + timedelta(days=13)):  # 14 days
            db.add(DiagnosticsReport(source="app", expires_at=expires))
        for age in (3 * YEAR + 1, 30):  # proof of privacy requests: 3 years
            db.add(
                PrivacyRequest(
                    kind="export",
                    status="done",
                    due_at=now - timedelta(days=age - 30),
                    created_at=now - timedelta(days=age),
                )
            )
        for age in (3 * YEAR + 1, 10):  # disclosures: 3 years
            db.add(
                Disclosure(
                    recipient="Police",
                    purpose="an investigation",
                    legal_basis="a court order",
                    disclosed_at=now - timedelta(days=age),
                )
            )
        for age in (5 * YEAR + 1, 100):  # breaches: 5 years
            detected = now - timedelta(days=age)
            db.add(
                Breach(
                    detected_at=detected,
                    authority_deadline=detected + timedelta(hours=72),
                    description="a lost laptop",
                )
            )
        db.add(AnalyticsHit(day=(now - timedelta(days=1)).date(), page="/", visitor="ab" * 32))
    stale_export = export_dir(settings.data_dir) / "stale.zip"
    stale_export.write_bytes(b"PK")
    os.utime(stale_export, (now.timestamp() - 3 * 86400,) * 2)
    fresh_export = export_dir(settings.data_dir) / "fresh.zip"
    fresh_export.write_bytes(b"PK")

    if how == "cli":
        output = await asyncio.to_thread(_cli_sweep, settings)
        assert "retention of recordings" in output and "share links" in output
    else:
        for chore in schedule(services):  # one round of the hourly loop's chores
            await chore.run()

    assert await _count(services, Media, Media.id == uuid.UUID(old_id)) == 0
    assert not any(old_id in f for f in _files(store_root)), "the recording's objects went too"
    assert await _count(services, Media, Media.id == uuid.UUID(new_id)) == 1
    assert any(new_id in f for f in _files(store_root)), "the recent recording is untouched"
    assert await _count(services, MediaShare) == 0
    assert await _count(services, Position) == 1
    assert await _count(services, DiagnosticsReport) == 1
    assert await _count(services, PrivacyRequest) == 1
    assert await _count(services, Disclosure) == 1
    assert await _count(services, Breach) == 1
    assert await _count(services, AnalyticsHit) == 0, "yesterday's hits are rolled up"
    assert not stale_export.exists() and fresh_export.exists()


async def test_a_failing_chore_leaves_the_others_to_run_and_the_command_says_so(
    services, settings, monkeypatch
):
    async def broken(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("the analytics table is gone")

    monkeypatch.setattr("camtel.app.analytics.rollup", broken)  # the second chore of five
    done = await sweep_all(services)
    assert list(done) == [chore.name for chore in retention_chores(services)]
    assert isinstance(done["analytics rollup"], RuntimeError)
    others = [result for name, result in done.items() if name != "analytics rollup"]
    assert not any(isinstance(result, Exception) for result in others), "the rest ran"

    env = {"CAMTEL_DATA_DIR": str(settings.data_dir), "CAMTEL_DATABASE_URL": settings.database_url}
    result = await asyncio.to_thread(
        CliRunner().invoke, cli, ["privacy", "sweep"], env=env
    )
    assert result.exit_code == 1, result.output
    assert "analytics rollup" in result.output and "failed: RuntimeError" in result.output
