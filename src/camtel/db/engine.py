"""Engines and sessions: SQLite tuned for an embedded server, PostgreSQL through psycopg 3."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from pydantic_core import from_json
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

# aiosqlite logs every statement with its parameters at DEBUG: personal data must never
# reach the logs, whatever level an operator picks.
logging.getLogger("aiosqlite").setLevel(logging.INFO)


def json_loads(text: str | bytes) -> Any:
    """JSON columns read by pydantic-core's parser (five times the standard library's on
    the small objects positions and events keep); the standard library's for what it alone
    takes (a lone surrogate escape, which SQLite may hold from before)."""
    try:
        return from_json(text)
    except ValueError:
        return json.loads(text)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers work while the pipeline writes; secure_delete zeroes freed pages so
    # that erased personal data does not linger in the file; foreign keys are off by default.
    cursor = dbapi_connection.cursor()
    for pragma in (
        "journal_mode=WAL",
        "secure_delete=ON",
        "foreign_keys=ON",
        "busy_timeout=10000",
        "synchronous=NORMAL",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def create_engine(url: str) -> AsyncEngine:
    """An async engine for a SQLAlchemy URL, with camtel's per-dialect settings."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            url, connect_args={"timeout": 30}, json_deserializer=json_loads
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(
        url, pool_size=10, max_overflow=20, pool_pre_ping=True, json_deserializer=json_loads
    )


def sync_sqlite_pragmas(engine: Any) -> None:
    """Apply camtel's SQLite pragmas to a synchronous engine (migrations)."""
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)


class Database:
    """The engine and a session factory, built once from settings and passed down."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session that commits when the block ends normally and rolls back otherwise."""
        async with self.sessions() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def dispose(self) -> None:
        await self.engine.dispose()


def lost_write_race(exc: BaseException) -> bool:
    """Whether a write failed because SQLite's transaction had read a snapshot that another
    connection's commit made stale (SQLITE_BUSY_SNAPSHOT, "database is locked" at once,
    without waiting): the transaction must start again, and will then succeed."""
    return isinstance(exc, OperationalError) and "database is locked" in str(exc)
