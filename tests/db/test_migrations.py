"""Migrations build exactly the schema the models describe; SQLite runs WAL + secure_delete."""

from __future__ import annotations

import subprocess
import sys

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from camtel.config import Settings, sync_url
from camtel.db import migrate
from camtel.db.partitions import include_name
from camtel.schema import metadata

ON_SQLITE = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)


def test_migrations_match_models(settings):
    engine = create_engine(sync_url(settings.sqlalchemy_url))
    try:
        with engine.connect() as connection:
            diff = compare_metadata(
                MigrationContext.configure(connection, opts={"include_name": include_name}),
                metadata,
            )
    finally:
        engine.dispose()
    assert diff == [], "a model changed without a migration: run alembic revision --autogenerate"
    assert migrate.current(settings.sqlalchemy_url) is not None


def test_upgrade_is_idempotent(settings):
    before = migrate.current(settings.sqlalchemy_url)
    migrate.upgrade(settings.sqlalchemy_url)
    assert migrate.current(settings.sqlalchemy_url) == before


@ON_SQLITE
async def test_sqlite_pragmas(services):
    async with services.database.session() as db:
        assert (await db.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await db.execute(text("PRAGMA secure_delete"))).scalar() == 1
        assert (await db.execute(text("PRAGMA foreign_keys"))).scalar() == 1


@ON_SQLITE
async def test_erased_rows_do_not_linger_in_the_sqlite_file(client, services):
    from helpers.accounts import sign_up

    headers, _ = await sign_up(client, services, "linger@example.com")
    marker = "Lingering-Van-7f3a9c"
    made = await client.post(
        "/api/v1/devices",
        headers=headers,
        json={"name": marker, "unique_id": "77001", "protocol": "osmand"},
    )
    await client.delete(f"/api/v1/devices/{made.json()['id']}", headers=headers)
    async with services.database.session() as db:
        await db.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    await services.database.dispose()
    raw = (services.settings.data_dir / "camtel.db").read_bytes()
    assert marker.encode() not in raw


def test_processes_migrating_together_wait_for_each_other(empty_postgres_url):
    """Three processes start at once on an empty PostgreSQL database: one migrates, the
    others wait on the lock and find the schema done; none fails."""
    url = Settings(database_url=empty_postgres_url).sqlalchemy_url
    code = "import sys; from camtel.db import migrate; migrate.upgrade(sys.argv[1])"
    processes = [
        subprocess.Popen([sys.executable, "-c", code, url], stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    errors = [p.communicate(timeout=180)[1].decode() for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], errors
    head = ScriptDirectory.from_config(migrate.alembic_config(url)).get_current_head()
    assert migrate.current(url) == head
