"""Shared test fixtures: the shared vectors, databases on both engines, an API client."""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import argon2
import httpx
import pytest

from camtel.accounts import passwords
from camtel.app import build_api
from camtel.config import Settings
from camtel.db import migrate
from camtel.schema import metadata
from camtel.services import Services
from helpers.env import DATA, missing

# Real argon2id with the library's cheapest parameters: the production profile costs 0.25 s of
# CPU a hash, about 400 s over the suite's sign-ups. tests/accounts/test_passwords.py checks
# that camtel itself hashes with the RFC 9106 profile.
passwords.use_hasher(argon2.PasswordHasher.from_parameters(argon2.profiles.CHEAPEST))

PG_ADMIN_URL = os.environ.get("CAMTEL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def testdata() -> Path:
    """The repository's folder of captured device messages and recordings (tests/data)."""
    return DATA


def _pg_admin():  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(
        PG_ADMIN_URL.replace("postgresql://", "postgresql://", 1),
        autocommit=True,
        connect_timeout=3,
    )


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this run, migrated, dropped afterwards."""
    try:
        admin = _pg_admin()
    except Exception as exc:
        missing(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {type(exc).__name__}")
    name = f"camtel_test_{secrets.token_hex(4)}"
    admin.execute(f'CREATE DATABASE "{name}"')
    # A test database need not wait for its WAL to reach the disk at each commit (a crash of
    # PostgreSQL itself loses nothing a test needs); what camtel does is unchanged.
    admin.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    url = f"{base}/{name}"
    try:
        migrate.upgrade(Settings(database_url=url).sqlalchemy_url)
        yield url
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def empty_postgres_url() -> Iterator[str]:
    """A PostgreSQL database of its own, never migrated (for tests of the migrations)."""
    try:
        admin = _pg_admin()
    except Exception as exc:
        missing(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {type(exc).__name__}")
    name = f"camtel_empty_{secrets.token_hex(4)}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> str:
    """Each database test runs on SQLite and on PostgreSQL."""
    return request.param


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated once per test process; each test gets a copy of it (running
    the twenty migrations for every test cost more than most tests)."""
    data_dir = tmp_path_factory.mktemp("sqlite-template")
    migrate.upgrade(Settings(data_dir=data_dir).sqlalchemy_url)
    return data_dir / "camtel.db"


def _copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite database (its WAL included), by SQLite's backup API."""
    with contextlib.closing(sqlite3.connect(source)) as src, contextlib.closing(
        sqlite3.connect(target)
    ) as dst:
        src.backup(dst)


@pytest.fixture
def settings(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """Settings for a test: a private data dir, a migrated database of the chosen engine."""
    url = ""
    if engine == "postgresql":
        url = request.getfixturevalue("postgres_url")
    made = Settings(data_dir=tmp_path / "data", database_url=url, cookie_secure=True)
    if engine == "sqlite":
        made.data_dir.mkdir(parents=True)
        _copy_sqlite(request.getfixturevalue("sqlite_template"), made.data_dir / "camtel.db")
    return made


#: Every table emptied in one round trip. DELETE, not TRUNCATE: on tables holding a test's few
#: rows it takes a millisecond where TRUNCATE, which makes new files for every table and index,
#: took 0.15-0.6 s a test. Triggers (the consent ledger is append-only) and foreign keys are
#: set aside for this transaction only (`session_replication_role`, the tests' superuser).
_EMPTY_ALL = "; ".join(
    ["SET LOCAL session_replication_role = replica"]
    + [f'DELETE FROM "{table.name}"' for table in metadata.sorted_tables]  # noqa: S608
)


async def _empty(services: Services) -> None:
    if services.database.dialect != "postgresql":
        return  # a SQLite test starts from a fresh copy of the template
    async with services.database.session() as db:
        await (await db.connection()).exec_driver_sql(_EMPTY_ALL)


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    """The services of one camtel process, on a clean database."""
    made = Services.build(settings)
    await _empty(made)
    yield made
    await made.database.dispose()


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the API in-process (over HTTPS, so Secure cookies flow)."""
    app = build_api(services)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as http:
        yield http
