"""Migration 0021 records how each existing account's age is known (a date of birth stated at
registration, else unstated), and 0020 gets the table back as it was on a downgrade."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text

from camtel.config import Settings, sync_url
from camtel.db import migrate

REGISTERED = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)


@pytest.fixture
def database(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if engine == "postgresql":
        return Settings(database_url=request.getfixturevalue("empty_postgres_url")).sqlalchemy_url
    return Settings(data_dir=tmp_path).sqlalchemy_url


def _insert_user(db, dialect: str, email: str, born: date | None) -> None:  # type: ignore[no-untyped-def]
    sqlite = dialect == "sqlite"
    db.execute(
        text(
            "INSERT INTO users (id, email, phone, password_hash, display_name, date_of_birth, "
            "is_admin, totp_enabled, created_at) "
            "VALUES (:id, :email, '+4915123456789', 'x', '', :born, false, false, :at)"
        ),
        {
            "id": uuid.uuid4().hex if sqlite else uuid.uuid4(),
            "email": email,
            "born": born.isoformat() if sqlite and born else born,
            "at": REGISTERED.replace(tzinfo=None).isoformat(" ", "microseconds")
            if sqlite
            else REGISTERED,
        },
    )


def test_existing_accounts_get_their_age_basis_and_lose_it_on_downgrade(database: str) -> None:
    migrate.upgrade(database, "0020")
    engine = create_engine(sync_url(database))
    dialect = engine.dialect.name
    with engine.begin() as db:
        _insert_user(db, dialect, "born@example.com", date(2010, 5, 6))
        _insert_user(db, dialect, "blank@example.com", None)
    engine.dispose()

    migrate.upgrade(database, "0021")
    engine = create_engine(sync_url(database))
    with engine.connect() as db:
        rows = db.execute(
            text("SELECT email, age_basis, age_stated_at FROM users ORDER BY email")
        ).all()
    engine.dispose()
    assert [(email, basis) for email, basis, _ in rows] == [
        ("blank@example.com", "unstated"),
        ("born@example.com", "birth_date"),
    ]
    assert rows[0][2] is None, "unstated: never stated"
    assert rows[1][2] is not None, "stated when the account registered"

    migrate.upgrade(database)  # on to the newest revision, whatever comes after
    command.downgrade(migrate.alembic_config(database), "0020")
    engine = create_engine(sync_url(database))
    with engine.connect() as db:
        columns = {c["name"] for c in inspect(db).get_columns("users")}
        kept = db.execute(text("SELECT email, date_of_birth FROM users ORDER BY email")).all()
    engine.dispose()
    assert not columns & {"age_basis", "age_stated_at"}
    assert [email for email, _ in kept] == ["blank@example.com", "born@example.com"]
    assert kept[1][1] is not None, "the date of birth itself stays"
