"""The live map's first paint kept ready: the newest fix of each device as the JSON text of
its item in `GET /positions/latest` (`latest_positions`).

The store writes a device's row with each batch (`upsert`, in the batch's transaction, only
when the fix is newer than the one kept: by time, then by the dedup key, as `positions`
orders them), so that a late, older or repeated fix never replaces it. The answer then joins
the texts of the visible devices (`answer`) instead of turning ~25 columns a device into
Python values. `service.newest_fixes` computes the same from `positions` and stays the source
of truth: `rebuild` writes rows from it (migration 0022, positions written outside the
store), and `repair` rebuilds the devices whose kept fix is no longer in `positions` (after
a retention sweep), so the row never shows a fix that is gone. Erasure deletes the rows with
their device's positions (privacy registry); deleting a device deletes its row.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Sequence
from datetime import UTC
from typing import Any, cast

from pydantic_core import to_json
from sqlalchemy import Select, Table, and_, delete, exists, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from camtel.accounts.caller import Caller
from camtel.db.stored_json import servable
from camtel.devices import service
from camtel.devices.models import Device, LatestPosition, Position

_TABLE = cast(Table, LatestPosition.__table__)
#: Devices rebuilt by one statement (well under SQLite's bound parameters).
_CHUNK = 1000


def kept(rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    """The rows to keep for rows of `service.newest_fixes` (or tuples in their order): the
    key of each fix and its item of the answer as JSON text. Pure."""
    items = service.shown(rows, head=service.LATEST_HEAD, extra=servable)
    at = len(service.LATEST_HEAD) + len(service.POSITION_COLUMNS)  # the dedup key
    return [
        {
            "device_id": item["device_id"],
            "time": item["time"],
            "dedup": row[at],
            "fragment": to_json(item).decode(),
        }
        for row, item in zip(rows, items, strict=True)
    ]


def newest_in_batch(
    fixes: Sequence[tuple[Any, ...]], *, extra: Callable[[dict[str, Any]], Any]
) -> list[dict[str, Any]]:
    """The rows to keep for a batch of fixes given as the store writes them (device, time,
    dedup, received, then the shown columns and the packed attributes, as
    `camtel.pipeline.store` orders them): the newest fix of each device, as the database will
    give it back (a UTC time, floats, the JSON column through `extra`: what its text turns
    into when read). Pure."""
    newest: dict[uuid.UUID, tuple[Any, ...]] = {}
    for fix in fixes:
        held = newest.get(fix[0])
        if held is None or (fix[1], fix[2]) > (held[1], held[2]):
            newest[fix[0]] = fix
    rows = []
    for fix in newest.values():
        device, time, dedup, _received, lat, lon, valid, speed, course, alt, acc, source = fix[:12]
        packed = fix[12:]
        if packed[-1] is not None:
            packed = (*packed[:-1], extra(packed[-1]))
        rows.append(
            (
                device,
                None,
                None,
                time.astimezone(UTC),
                float(lat),
                float(lon),
                _float(speed),
                _float(course),
                _float(alt),
                _float(acc),
                bool(valid),
                source,
                dedup,
                *packed,
            )
        )
    return kept(rows)


def _float(value: float | None) -> float | None:
    return None if value is None else float(value)


def jsonb_order(value: Any) -> Any:
    """A JSON value with its objects' keys in the order PostgreSQL's `jsonb` gives them back
    (shorter keys first, then by their UTF-8 bytes). Pure."""
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: (len(k.encode()), k.encode()))
        return {k: jsonb_order(value[k]) for k in keys}
    if isinstance(value, list):
        return [jsonb_order(v) for v in value]
    return value


def upsert_statement(dialect: str) -> Any:
    """`INSERT ... ON CONFLICT (device_id) DO UPDATE` that replaces a kept fix only with a
    newer one (a later time, or the same time and a greater dedup key)."""
    make = sqlite.insert if dialect == "sqlite" else postgresql.insert
    statement = make(_TABLE)
    new = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=[_TABLE.c.device_id],
        set_={"time": new.time, "dedup": new.dedup, "fragment": new.fragment},
        where=or_(
            new.time > _TABLE.c.time,
            and_(new.time == _TABLE.c.time, new.dedup > _TABLE.c.dedup),
        ),
    )


async def upsert(db: AsyncConnection, statement: Any, rows: list[dict[str, Any]]) -> None:
    """Keep these fixes where they are newer than the kept ones (`upsert_statement`)."""
    if rows:
        await db.execute(statement, rows)


async def answer(
    db: AsyncSession, *, caller: Caller
) -> tuple[bytes, list[tuple[uuid.UUID, uuid.UUID | None, uuid.UUID]]]:
    """The answer of `GET /positions/latest` as JSON bytes, and (device id, driver id,
    organisation id) of each device shown whose driver is someone else (the read audit)."""
    visible = service.visible_devices(caller).join(
        LatestPosition, LatestPosition.device_id == Device.id
    )
    connection = await db.connection()
    texts = await connection.execute(
        visible.with_only_columns(LatestPosition.fragment).order_by(LatestPosition.device_id)
    )
    body = ("[" + ",".join(texts.scalars().all()) + "]").encode()
    driven = await connection.execute(
        visible.with_only_columns(Device.id, Device.driver_id, Device.organization_id)
        .where(Device.driver_id.is_not(None), Device.driver_id != caller.user.id)
        .order_by(Device.id)
    )
    return body, [(device, driver, org) for device, driver, org in driven]


async def rebuild(db: AsyncSession, *, devices: Collection[uuid.UUID] | None = None) -> int:
    """Write the kept rows of these devices (every device when None) again from `positions`
    (`service.newest_fixes`); a device without fixes has none. Returns the rows written."""
    if devices is None:
        await db.execute(delete(_TABLE))
        return await _write(db, select(Device))
    ids, written = list(devices), 0
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        await db.execute(delete(_TABLE).where(_TABLE.c.device_id.in_(chunk)))
        written += await _write(db, select(Device).where(Device.id.in_(chunk)))
    return written


async def _write(db: AsyncSession, devices: Select[Any]) -> int:
    connection = await db.connection()
    rows = kept((await connection.execute(service.newest_fixes(devices))).all())
    if rows:
        await connection.execute(insert(_TABLE), rows)
    return len(rows)


async def repair(db: AsyncSession) -> int:
    """Rebuild the devices whose kept fix is no longer in `positions` (deleted by retention,
    whole months dropped, or any other way). Returns how many devices were rebuilt."""
    gone = select(_TABLE.c.device_id).where(
        ~exists().where(
            Position.device_id == _TABLE.c.device_id,
            Position.time == _TABLE.c.time,
            Position.dedup == _TABLE.c.dedup,
        )
    )
    stale = list(await db.scalars(gone))
    if stale:
        await rebuild(db, devices=stale)
    return len(stale)
