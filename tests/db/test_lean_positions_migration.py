"""Migration 0017 moves stored positions into the lean table without losing or changing what
anyone sees, and 0016 gets them back on a downgrade."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from camtel.config import Settings, sync_url
from camtel.db import migrate
from camtel.devices.models import Position
from camtel.protocols.jt808_location import status_names


def _wide_rows(device: str) -> list[dict[str, object]]:
    """Rows as revision 0016 stored them: a JT/T 808 fix, an OsmAnd fix with free-form
    extras, and a fix whose named bit disagrees with its status word."""
    base = datetime(2026, 5, 4, 3, 2, 1, 123456, tzinfo=UTC)
    jt808 = {"alarm_flags": 0, "status_flags": 0x000C0003, **status_names(0x000C0003),
             "odometer_m": 123400, "satellites": 12, "motion": True, "distance_m": 12.5,
             "total_distance_m": 1034.2}
    osmand = {"battery_level": 87.5, "charging": False, "note": "ok", "motion": False,
              "alarms": ["sos"]}
    odd = {"status_flags": 1, **status_names(1), "ignition": False}
    return [
        {"time": base + timedelta(seconds=n), "attributes": attributes, "dedup": dedup,
         "speed": speed, "device": device}
        for n, (attributes, dedup, speed) in enumerate(
            [(jt808, "0123456789abcdef01234567", 45.3), (osmand, "ffeeddccbbaa998877665544",
                                                          None), (odd, "", 0.0)]
        )
    ]


@pytest.fixture
def database(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if engine == "postgresql":
        return Settings(database_url=request.getfixturevalue("empty_postgres_url")).sqlalchemy_url
    return Settings(data_dir=tmp_path).sqlalchemy_url


def _time_text(value: datetime, dialect: str) -> object:
    return value.replace(tzinfo=None).isoformat(" ", "microseconds") if dialect == "sqlite" \
        else value


def test_positions_survive_the_move_to_the_lean_table_and_back(database: str) -> None:
    migrate.upgrade(database, "0016")
    engine = create_engine(sync_url(database))
    dialect = engine.dialect.name
    org, device = uuid.uuid4(), uuid.uuid4()
    key = (lambda u: u.hex) if dialect == "sqlite" else (lambda u: u)
    rows = _wide_rows(str(device))
    with engine.begin() as db:
        db.execute(text("INSERT INTO organizations (id, name, created_at) VALUES (:id, 'O', :t)"),
                   {"id": key(org), "t": _time_text(datetime.now(UTC), dialect)})
        db.execute(text("INSERT INTO devices (id, organization_id, name, unique_id, protocol, "
                        "attributes, created_at) VALUES (:id, :org, 'v', '1', 'jt808', '{}', :t)"),
                   {"id": key(device), "org": key(org),
                    "t": _time_text(datetime.now(UTC), dialect)})
        for row in rows:
            db.execute(text(
                "INSERT INTO positions (id, device_id, time, server_time, latitude, longitude, "
                "valid, speed_kmh, course, altitude, accuracy_m, source, dedup, attributes) "
                "VALUES (:id, :device, :time, :time, 22.5, 114.1, true, :speed, 90, 12, NULL, "
                "'gps', :dedup, :attributes)"),
                {"id": key(uuid.uuid4()), "device": key(device),
                 "time": _time_text(row["time"], dialect),  # type: ignore[arg-type]
                 "speed": row["speed"], "dedup": row["dedup"],
                 "attributes": json.dumps(row["attributes"])})
    engine.dispose()

    migrate.upgrade(database, "0017")
    engine = create_engine(sync_url(database))
    with Session(engine) as db:
        stored = db.scalars(select(Position).order_by(Position.time)).all()
        assert [p.time for p in stored] == [r["time"] for r in rows], "microseconds kept"
        assert [p.attributes for p in stored] == [r["attributes"] for r in rows]
        assert [p.speed_kmh for p in stored] == [r["speed"] for r in rows]
        assert stored[0].extra is None and stored[0].status_flags == 0x000C0003
        assert stored[0].dedup == int("0123456789abcdef", 16) and stored[2].dedup == 0
    engine.dispose()

    migrate.upgrade(database)  # and on to the newest revision, whatever comes after
    command.downgrade(migrate.alembic_config(database), "0016")
    engine = create_engine(sync_url(database))
    with engine.connect() as db:
        back = db.execute(text("SELECT attributes, dedup FROM positions ORDER BY time")).all()
    engine.dispose()
    assert [json.loads(a) if isinstance(a, str) else a for a, _ in back] == [
        r["attributes"] for r in rows
    ]
    assert [d for _, d in back] == ["0123456789abcdef", "ffeeddccbbaa9988", ""]

