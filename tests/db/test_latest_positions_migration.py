"""Migration 0022 fills `latest_positions` from the positions already stored (each device's
newest fix, none for a device without one), and 0021 gets back without the table."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, select
from sqlalchemy.orm import Session

from camtel.accounts.models import Organization
from camtel.config import Settings, sync_url
from camtel.db import migrate
from camtel.devices import latest, service
from camtel.devices.models import Device, LatestPosition, Position

T = datetime(2026, 11, 30, 22, 0, 0, 500_000, tzinfo=UTC)


@pytest.fixture
def database(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if engine == "postgresql":
        return Settings(database_url=request.getfixturevalue("empty_postgres_url")).sqlalchemy_url
    return Settings(data_dir=tmp_path).sqlalchemy_url


def test_existing_positions_fill_the_kept_newest_fixes(database: str) -> None:
    migrate.upgrade(database, "0021")
    engine = create_engine(sync_url(database))
    with Session(engine) as db, db.begin():
        org = Organization(name="Fleet")
        db.add(org)
        db.flush()
        vans = [Device(organization_id=org.id, name=f"Van {n}", unique_id=f"m{n}",
                       protocol="osmand") for n in range(3)]
        db.add_all(vans)
        db.flush()
        ids = [van.id for van in vans]
        for n, (minutes, dedup) in enumerate([(0, 1), (5, 2), (5, 3), (-60, 4)]):
            db.add(Position(device_id=ids[0], time=T + timedelta(minutes=minutes),
                            dedup=dedup, server_time=T, latitude=50 + n, longitude=8.0,
                            speed_kmh=float(n), attributes={"n": n, "ignition": n % 2 == 0}))
        db.add(Position(device_id=ids[1], time=T, dedup=9, server_time=T, latitude=1.5,
                        longitude=2.5, attributes={}))
    engine.dispose()

    migrate.upgrade(database, "0022")
    engine = create_engine(sync_url(database))
    with engine.connect() as db:
        kept = db.execute(select(LatestPosition.__table__).order_by(LatestPosition.device_id))
        got = [dict(row._mapping) for row in kept]
        computed = latest.kept(db.execute(service.newest_fixes(select(Device))).all())
    engine.dispose()
    assert got == computed
    assert {row["device_id"] for row in got} == {ids[0], ids[1]}, "no fix, no row"
    first = next(row for row in got if row["device_id"] == ids[0])
    assert (first["time"], first["dedup"]) == (T + timedelta(minutes=5), 3)
    assert json.loads(first["fragment"])["attributes"] == {"n": 2, "ignition": True}

    command.downgrade(migrate.alembic_config(database), "0021")
    engine = create_engine(sync_url(database))
    with engine.connect() as db:
        assert "latest_positions" not in inspect(db).get_table_names()
    engine.dispose()
