"""The person's export (GDPR Art. 15 and 20): every registered table's rows that are theirs,
as JSON, their tracks as GPX, and a README explaining each file, in one ZIP."""

from __future__ import annotations

import json
import re
import uuid
import zipfile
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import datetime
from typing import IO, Any
from xml.sax.saxutils import escape

from sqlalchemy import Column, Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.devices import position_attributes
from camtel.privacy.registry import REGISTRY
from camtel.privacy.scope import Scope, scope_of
from camtel.privacy.tables import table as registered

#: Columns that are credentials, not information about the person: never exported.
SECRET_MARKERS = ("password", "secret", "token_hash", "csrf", "key_wrapped", "wrapped_key")

#: Extra files other parts add to an export: async (db, scope, zip) -> {path: count}
#: (recordings, for instance). The composition root puts them in `Services.export_hooks`.
Hook = Callable[..., Any]

#: Told how far an export is: async (steps done, steps in all); a step is a table or a hook.
Progress = Callable[[int, int], Awaitable[None]]


def _exportable_columns(table: Table) -> list[Column[Any]]:
    return [c for c in table.c if not any(marker in c.name for marker in SECRET_MARKERS)]


def _json_default(value: Any) -> Any:
    if isinstance(value, uuid.UUID | datetime):
        return str(value) if isinstance(value, uuid.UUID) else value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


async def rows_of(db: AsyncSession, scope: Scope, name: str) -> list[dict[str, Any]]:
    """The person's rows of one registered table, without credential columns."""
    entry = REGISTRY.get(name)
    if entry is None:
        return []
    table = registered(name)
    link = entry.link
    ids = scope.ids_for(link, for_export=True)
    if not ids:
        return []
    columns = _exportable_columns(table)
    query = select(*columns).where(table.c[link.column].in_(ids))
    rows = [
        {key: without_one_time_links(value) for key, value in row._mapping.items()}
        for row in (await db.execute(query)).all()
    ]
    if name == "positions":  # the attributes as the device and the pipeline gave them
        return [_with_attributes(row) for row in rows]
    return rows


def _with_attributes(row: dict[str, Any]) -> dict[str, Any]:
    packed = [row.pop(name) for name in position_attributes.COLUMNS]
    row["attributes"] = position_attributes.unpack(packed)
    return row


_ONE_TIME = re.compile(r"(?i)(token[=:]\s*)[A-Za-z0-9_.~-]+")


def without_one_time_links(value: Any) -> Any:
    """A text with the tokens of one-time links (verification, reset, address change) in
    unsent mail replaced: an export in the wrong hands must not confirm or reset anything.
    Other values pass unchanged. Pure."""
    if isinstance(value, str) and "token" in value.lower():
        return _ONE_TIME.sub(r"\1<one-time link removed>", value)
    return value


def gpx(points: list[dict[str, Any]], name: str) -> str:
    """A GPX 1.1 track of positions (time, latitude, longitude, altitude)."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<gpx version="1.1" creator="camtel" xmlns="http://www.topografix.com/GPX/1/1">',
        f"<trk><name>{escape(name)}</name><trkseg>",
    ]
    for p in points:
        ele = f"<ele>{p['altitude']}</ele>" if p.get("altitude") is not None else ""
        lines.append(
            f'<trkpt lat="{p["latitude"]}" lon="{p["longitude"]}">{ele}'
            f"<time>{p['time'].isoformat()}</time></trkpt>"
        )
    lines.append("</trkseg></trk></gpx>")
    return "\n".join(lines)


def _readme(files: dict[str, int]) -> str:
    lines = [
        "# Your data at camtel",
        "",
        "This archive holds everything camtel keeps about you, as machine-readable JSON",
        "(one file per kind of record) and your vehicles' tracks as GPX.",
        "",
        "| file | records | what it is | why camtel keeps it | kept for |",
        "|---|---|---|---|---|",
    ]
    for name, count in sorted(files.items()):
        table = name.removeprefix("data/").removesuffix(".json")
        entry = REGISTRY.get(table)
        what = ", ".join(entry.categories) if entry else "track"
        why = entry.purpose if entry else "your positions, for GPS software"
        keep = entry.retention if entry else "as positions"
        lines.append(f"| {name} | {count} | {what} | {why} | {keep} |")
    lines += [
        "",
        "Secrets (password hashes, session tokens, keys) are not included: they",
        "describe no one and would only help someone who stole this file.",
    ]
    return "\n".join(lines) + "\n"


async def write_export(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    out: IO[bytes],
    hooks: Sequence[Hook] = (),
    progress: Progress | None = None,
) -> dict[str, int]:
    """Write the person's ZIP to `out`; returns records per file. `progress` hears after
    each table and each hook."""
    scope = await scope_of(db, user_id)
    files: dict[str, int] = {}
    tables = [name for name, entry in sorted(REGISTRY.items()) if entry.export]
    total, done = len(tables) + len(hooks), 0

    async def step() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            await progress(done, total)

    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in tables:
            rows = await rows_of(db, scope, name)
            archive.writestr(f"data/{name}.json", json.dumps(rows, default=_json_default, indent=1))
            files[f"data/{name}.json"] = len(rows)
            if name == "positions" and rows:
                for device_id, points in _by_device(rows):
                    path = f"tracks/{device_id}.gpx"
                    archive.writestr(path, gpx(points, f"device {device_id}"))
                    files[path] = len(points)
            await step()
        for hook in hooks:
            for path, count in (await hook(db, scope, archive)).items():
                files[path] = count
            await step()
        archive.writestr("README.md", _readme(files))
    return files


def _by_device(rows: list[dict[str, Any]]) -> Iterator[tuple[Any, list[dict[str, Any]]]]:
    grouped: dict[Any, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row["device_id"], []).append(row)
    for device_id, points in grouped.items():
        yield device_id, sorted(points, key=lambda p: p["time"])
