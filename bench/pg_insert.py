"""How a batch of positions gets into PostgreSQL fastest, idempotently.

The same 500-row batches (100 devices, the lean positions row with a JSON `extra` of None)
go into a monthly-partitioned copy of the positions table three ways, alternately, each
ending in `ON CONFLICT DO NOTHING` on the key:

- `executemany`: one parametrised INSERT per row, sent in psycopg's pipeline mode;
- `copy text`: COPY in text format into a temporary table, then INSERT ... SELECT;
- `copy binary`: the same with binary COPY (what `camtel.pipeline.store` does).

    .venv/bin/python bench/pg_insert.py --admin postgresql://postgres@127.0.0.1:5432/postgres

A database is made and dropped per run. Prints the median time per batch and rows/s.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

import psycopg

COLUMNS = (
    "device_id",
    "time",
    "dedup",
    "server_time",
    "latitude",
    "longitude",
    "valid",
    "speed_kmh",
    "course",
    "altitude",
    "accuracy_m",
    "source",
    "alarm_flags",
    "odometer_m",
    "satellites",
    "rssi",
    "ignition",
    "blind_area",
    "motion",
    "distance_m",
    "total_distance_m",
    "status_flags",
    "extra",
)
TYPES = (
    "uuid",
    "timestamptz",
    "int8",
    "timestamptz",
    "float8",
    "float8",
    "bool",
    "float8",
    "float8",
    "float8",
    "float8",
    "text",
    "int8",
    "int8",
    "int8",
    "int8",
    "bool",
    "bool",
    "bool",
    "float8",
    "float8",
    "int8",
    "jsonb",
)
TABLE = f"""
CREATE TABLE positions ({", ".join(f"{c} {t}" for c, t in zip(COLUMNS, TYPES, strict=True))},
  PRIMARY KEY (device_id, time, dedup)) PARTITION BY RANGE (time);
CREATE TABLE positions_default PARTITION OF positions DEFAULT;
CREATE TABLE positions_y2026m12 PARTITION OF positions
  FOR VALUES FROM ('2026-12-01 00:00:00+00') TO ('2027-01-01 00:00:00+00');
"""
NAMES = ", ".join(COLUMNS)
INSERT = (
    f"INSERT INTO positions ({NAMES}) VALUES ({', '.join(['%s'] * len(COLUMNS))}) "  # noqa: S608
    "ON CONFLICT DO NOTHING"
)
# Column names are this file's constants: nothing to inject.
MOVE = f"INSERT INTO positions ({NAMES}) SELECT {NAMES} FROM staged ON CONFLICT DO NOTHING"  # noqa: S608


def batch(size: int, start: datetime, devices: list[uuid.UUID]) -> list[tuple[object, ...]]:
    return [
        (
            devices[i % len(devices)],
            start + timedelta(seconds=i),
            i * 7919,
            start,
            22.5,
            114.1,
            True,
            45.0,
            90.0,
            12.0,
            None,
            "gps",
            0,
            1234,
            12,
            20,
            True,
            False,
            True,
            12.5,
            1000.0,
            3,
            None,
        )
        for i in range(size)
    ]


async def write(connection: psycopg.AsyncConnection, how: str, rows: list) -> None:  # type: ignore[type-arg]
    async with connection.transaction(), connection.cursor() as cursor:
        if how == "executemany":
            await cursor.executemany(INSERT, rows)
            return
        binary = how == "copy binary"
        sql = f"COPY staged ({NAMES}) FROM STDIN" + (" (FORMAT BINARY)" if binary else "")
        async with cursor.copy(sql) as copy:
            if binary:
                copy.set_types(list(TYPES))
            for row in rows:
                await copy.write_row(row)
        await cursor.execute(MOVE)


async def main(admin: str, batches: int, size: int) -> None:
    name = f"camtel_bench_insert_{uuid.uuid4().hex[:8]}"
    async with await psycopg.AsyncConnection.connect(admin, autocommit=True) as control:
        await control.execute(f'CREATE DATABASE "{name}"')
    url = f"{admin.rsplit('/', 1)[0]}/{name}"
    try:
        async with await psycopg.AsyncConnection.connect(url) as connection:
            await connection.execute(TABLE)
            await connection.execute(
                "CREATE TEMPORARY TABLE staged (LIKE positions) ON COMMIT DELETE ROWS"
            )
            await connection.commit()
            devices = [uuid.uuid4() for _ in range(100)]
            ways = ("executemany", "copy text", "copy binary")
            took: dict[str, list[float]] = {how: [] for how in ways}
            start = datetime(2026, 12, 1, tzinfo=UTC)
            for n in range(batches):
                for k, how in enumerate(ways):
                    rows = batch(size, start + timedelta(hours=n * len(ways) + k), devices)
                    began = time.perf_counter()
                    await write(connection, how, rows)
                    took[how].append(time.perf_counter() - began)
    finally:
        async with await psycopg.AsyncConnection.connect(admin, autocommit=True) as control:
            await control.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"{batches} batches of {size} rows each way, alternating; medians")
    print("| way | ms per batch | rows/s |")
    print("|---|---:|---:|")
    for how, times in took.items():
        median = statistics.median(times)
        print(f"| {how} | {median * 1000:.1f} | {size / median:,.0f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--admin", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--batches", type=int, default=12)
    parser.add_argument("--size", type=int, default=500)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.admin, arguments.batches, arguments.size))
