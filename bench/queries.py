"""Read paths of the live map and of history, through the API (in-process ASGI, SQLite).

Two questions a person's browser asks most:

- `GET /api/v1/positions/latest`: the newest fix of every device (the live map's first
  paint), for an organisation of N devices that each have a few hours of fixes (kept ready
  in `latest_positions`, rebuilt here from positions as migration 0022 fills it);
- `GET /api/v1/devices/{id}/positions?from&to&limit=10000`: one device's day (8,640 fixes, one
  every 10 s), in a table that also holds every other device's fixes.

Rows are written with the ingest store's own SQLite conversion (the same stored text), then
each request is timed `--repeat` times after one warm-up; p50/p95 are printed, and the SQL alone
(the same statement through the driver, without the ORM or the API) for comparison.

    .venv/bin/python bench/queries.py --devices 1000,10000 --fixes 24 --repeat 15
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

DAY = datetime(2026, 12, 1, tzinfo=UTC)


async def captured_sql(services, call, marker):  # type: ignore[no-untyped-def]
    """The first statement `call(db)` runs that names `marker`, and its parameters, as the
    driver gets them."""
    from sqlalchemy import event

    captured = []

    def grab(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        captured.append((statement, parameters))

    engine = services.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", grab)
    try:
        async with services.database.session() as db:
            await call(db)
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    return next(c for c in captured if marker in c[0])


def _stats(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(0.95 * (len(ordered) - 1))] * 1000


async def _timed(call, repeat: int) -> tuple[float, float, object]:  # type: ignore[no-untyped-def]
    result = await call()  # warm-up
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        result = await call()
        samples.append(time.perf_counter() - began)
    p50, p95 = _stats(samples)
    return p50, p95, result


async def run(devices: int, fixes: int, day_fixes: int, repeat: int) -> list[tuple[str, ...]]:
    import httpx
    from sqlalchemy import text

    from camtel.accounts.caller import Caller
    from camtel.accounts.roles import Role
    from camtel.app import build_api
    from camtel.config import Settings
    from camtel.db import migrate
    from camtel.db.base import micros
    from camtel.devices import latest as kept_ready
    from camtel.devices import service
    from camtel.devices.models import Device
    from camtel.devices.position_attributes import pack
    from camtel.pipeline.store import _SqliteInsert
    from camtel.services import Services
    from helpers.accounts import sign_up

    rows_out = []
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder), log_level="WARNING", jt808_port=0,
                            teltonika_port=0, osmand_port=0)
        migrate.upgrade(settings.sqlalchemy_url)
        services = Services.build(settings)
        app = build_api(services)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            headers, _ = await sign_up(client, services, "bench@example.com")
            me = (await client.get("/api/v1/me", headers=headers)).json()
            org = uuid.UUID(me["organizations"][0]["id"])
            ids = [uuid.uuid4() for _ in range(devices)]
            async with services.database.session() as db:
                db.add_all(Device(id=i, organization_id=org, name=f"Van {n}", unique_id=f"b{n}",
                                  protocol="osmand") for n, i in enumerate(ids))
            insert = _SqliteInsert(services.database)
            received = DAY + timedelta(days=1)
            # What an OsmAnd phone's fix carries: satellites and ignition have columns.
            extra = pack({"satellites": 9, "ignition": True, "battery_level": 81.0})

            def fix(device: uuid.UUID, at: datetime, n: int) -> tuple:  # type: ignore[type-arg]
                return (device, at, n, received, 52.5 + n * 1e-5, 13.4 + n * 1e-5, True, 42.0,
                        90.0, 35.0, 5.0, "gps", *extra)

            def fixes_of_all() -> Iterator[tuple]:  # type: ignore[type-arg]
                for device in ids:
                    for n in range(fixes):
                        yield fix(device, DAY + timedelta(hours=12, seconds=10 * n), n)
                for n in range(day_fixes):
                    yield fix(target, DAY + timedelta(seconds=86_400 * n / day_fixes), n)

            target = ids[0]
            rows = fixes_of_all()
            while chunk := list(itertools.islice(rows, 50_000)):
                async with services.database.engine.begin() as db:
                    await db.exec_driver_sql(insert.sql, insert.rows(chunk))
            async with services.database.engine.connect() as db:
                total = (await db.execute(text("SELECT count(*) FROM positions"))).scalar()
                size = (await db.execute(text(
                    "SELECT sum(pgsize) FROM dbstat WHERE name = 'positions' OR name IN "
                    "(SELECT name FROM sqlite_schema WHERE tbl_name = 'positions')"))).scalar()
            began = time.perf_counter()
            async with services.database.session() as db:
                await kept_ready.rebuild(db)  # as migration 0022 fills it
            rebuilt = (time.perf_counter() - began) * 1000
            rows_out.append(("rows in positions", f"{total:,}", "", ""))
            rows_out.append(("bytes a position (table and indexes)", f"{size / total:.0f}", "",
                             f"{size / 2**20:,.0f} MiB"))

            async def latest():  # type: ignore[no-untyped-def]
                answer = await client.get("/api/v1/positions/latest", headers=headers)
                assert answer.status_code == 200, answer.text
                return answer

            p50, p95, answer = await _timed(latest, repeat)
            assert len(answer.json()) == devices  # type: ignore[attr-defined]
            kb = len(answer.content) / 1024  # type: ignore[attr-defined]
            rows_out.append((f"latest, {devices:,} devices (API)", f"{p50:.0f}", f"{p95:.0f}",
                             f"{kb:,.0f} KiB"))
            caller = Caller(user=SimpleNamespace(id=uuid.uuid4()),  # type: ignore[arg-type]
                            session=None, roles={org: Role.OWNER})
            kept = await captured_sql(services, lambda db: kept_ready.answer(db, caller=caller),
                                      "latest_positions")
            computed = await captured_sql(
                services, lambda db: service.latest_positions(db, caller=caller), "positions")

            for label, (statement, parameters) in (("latest, kept texts", kept),
                                                   ("newest fixes from positions", computed)):

                async def alone(statement=statement, parameters=parameters):  # type: ignore[no-untyped-def]
                    async with services.database.engine.connect() as db:
                        return (await db.exec_driver_sql(statement, parameters)).all()

                p50, p95, _ = await _timed(alone, repeat)
                rows_out.append((f"{label} (SQL alone)", f"{p50:.0f}", f"{p95:.0f}", ""))
            rows_out.append(("kept rows rebuilt from positions", f"{rebuilt:.0f}", "", ""))

            async def day():  # type: ignore[no-untyped-def]
                answer = await client.get(
                    f"/api/v1/devices/{target}/positions", headers=headers,
                    params={"from": DAY.isoformat(), "to": (DAY + timedelta(days=1)).isoformat(),
                            "limit": 10_000})
                assert answer.status_code == 200, answer.text
                return answer

            p50, p95, answer = await _timed(day, repeat)
            got = len(answer.json())  # type: ignore[attr-defined]
            assert got >= day_fixes, got
            kb = len(answer.content) / 1024  # type: ignore[attr-defined]
            rows_out.append((f"one device's day, {got:,} fixes (API)", f"{p50:.0f}", f"{p95:.0f}",
                             f"{kb:,.0f} KiB"))

            sql = text("SELECT * FROM positions WHERE device_id = :d AND time >= :a AND time < :b "
                       "ORDER BY time, dedup LIMIT 10001")
            params = {"d": target.hex, "a": micros(DAY), "b": micros(DAY + timedelta(days=1))}

            async def day_sql():  # type: ignore[no-untyped-def]
                async with services.database.engine.connect() as db:
                    return (await db.execute(sql, params)).all()

            p50, p95, _ = await _timed(day_sql, repeat)
            rows_out.append(("one device's day (SQL alone)", f"{p50:.0f}", f"{p95:.0f}", ""))
        await services.database.dispose()
    return rows_out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", default="1000,10000")
    parser.add_argument("--fixes", type=int, default=24, help="fixes per device")
    parser.add_argument("--day-fixes", type=int, default=8640)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    print(f"SQLite, in-process API; p50/p95 of {args.repeat} requests after a warm-up")
    print("| request | p50 ms | p95 ms | answer |")
    print("|---|---:|---:|---:|")
    for devices in (int(d) for d in args.devices.split(",")):
        for row in asyncio.run(run(devices, args.fixes, args.day_fixes, args.repeat)):
            print("| " + " | ".join(row) + " |", flush=True)


if __name__ == "__main__":
    main()
