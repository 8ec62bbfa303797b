"""Alembic migrations, applied by `camtel db upgrade` and by `camtel serve` on start."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from camtel.config import sync_url

#: The schema's history, beside the package that defines it (camtel.schema).
MIGRATIONS = Path(__file__).parents[1] / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic configuration for a database URL (async or plain)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", sync_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "heads") -> None:
    """Bring the database at `url` up to `revision`."""
    command.upgrade(alembic_config(url), revision)


def current(url: str) -> str | None:
    """The revision the database is at, or None when it has never been migrated."""
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine

    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
