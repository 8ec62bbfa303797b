"""Monthly range partitions of the large time-ordered tables on PostgreSQL.

On PostgreSQL `positions` is partitioned by its `time` (declarative, one partition a month,
named `positions_y2026m12`, and a `positions_default` partition for fixes outside every month
made: a device with a clock in 1970 or a year ahead). What this gives a fleet:

- retention drops a whole month in one statement once every row in it has expired, instead of
  deleting millions of rows one by one and vacuuming after them (`drop_expired`);
- a device's period is read from the one or two months it falls in (partition pruning);
- a month's index stays the size of a month.

Upcoming months are made ahead (`AHEAD` months) by the workers' daily chore and by the
migration, so inserts never wait on DDL; should a month be missing all the same, its rows land
in the default partition and move into the month when it is made. SQLite has no partitions:
everything here is a no-op there.

Naming, the months wanted and which months may go are pure decisions; `ensure` and
`drop_expired` do the I/O, under an advisory lock so that two workers never race on the DDL.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

log = logging.getLogger(__name__)

#: Partitioned tables and the column they are partitioned by (PostgreSQL only).
PARTITIONED: dict[str, str] = {"positions": "time"}
#: Months made ahead of the current one.
AHEAD = 3
_NAME = re.compile(r"^(?P<table>[a-z_]+)_y(?P<year>\d{4})m(?P<month>\d{2})$")


@dataclass(frozen=True, slots=True, order=True)
class Month:
    """One calendar month (UTC), the span of one partition."""

    year: int
    month: int

    @classmethod
    def of(cls, moment: datetime | date) -> Month:
        if isinstance(moment, datetime):
            moment = moment.astimezone(UTC) if moment.tzinfo else moment
        return cls(moment.year, moment.month)

    def next(self, months: int = 1) -> Month:
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return self.next().start

    def name(self, table: str) -> str:
        return f"{table}_y{self.year:04d}m{self.month:02d}"


def default_name(table: str) -> str:
    """The partition that takes rows of no month made."""
    return f"{table}_default"


def month_of_partition(table: str, name: str) -> Month | None:
    """The month a partition of `table` covers, from its name; None for any other table."""
    match = _NAME.match(name)
    if match is None or match["table"] != table:
        return None
    return Month(int(match["year"]), int(match["month"]))


def is_partition(name: str) -> bool:
    """Whether a table is one of the partitions made here (not a table of the models)."""
    return any(
        name == default_name(table) or month_of_partition(table, name) is not None
        for table in PARTITIONED
    )


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's `include_name` hook: the partitions are not tables of the models."""
    return not (type_ == "table" and name is not None and is_partition(name))


def wanted(now: datetime, ahead: int = AHEAD) -> list[Month]:
    """The months that must exist: the current one and `ahead` after it. Pure."""
    current = Month.of(now)
    return [current.next(n) for n in range(ahead + 1)]


def droppable(months: Iterable[Month], cutoff: datetime) -> list[Month]:
    """The months wholly before `cutoff` (their every row has expired under it). Pure."""
    return sorted(month for month in months if month.end <= cutoff)


def _literal(moment: datetime) -> str:
    return moment.strftime("'%Y-%m-%d %H:%M:%S+00'")


def create_statements(table: str, column: str, month: Month) -> list[str]:
    """DDL making `month`'s partition of `table`, moving into it any rows of that month the
    default partition took meanwhile (attaching over such rows would fail)."""
    name, default = month.name(table), default_name(table)
    start, end = _literal(month.start), _literal(month.end)
    # Names come from PARTITIONED and a Month, never from input: nothing to inject.
    return [
        f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS)",
        f"WITH moved AS (DELETE FROM {default} WHERE {column} >= {start} "  # noqa: S608
        f"AND {column} < {end} RETURNING *) INSERT INTO {name} SELECT * FROM moved",
        f"ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES FROM ({start}) TO ({end})",
    ]


def lock_statement(table: str) -> str:
    """A transaction-scoped advisory lock serialising partition DDL on `table`."""
    return f"SELECT pg_advisory_xact_lock(hashtext('camtel.partitions.{table}'))"


_CHILDREN = text(
    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
    "WHERE i.inhparent = to_regclass(:table)"
)
_KIND = text("SELECT relkind FROM pg_class WHERE oid = to_regclass(:table)")


async def partitioned(db: AsyncConnection, table: str) -> bool:
    """Whether `table` is a partitioned table here (never in SQLite)."""
    if db.dialect.name != "postgresql":
        return False
    return (await db.execute(_KIND, {"table": table})).scalar() == "p"


async def months(db: AsyncConnection, table: str) -> list[Month]:
    """The months of `table` that have a partition."""
    names = (await db.execute(_CHILDREN, {"table": table})).scalars()
    return sorted(m for m in (month_of_partition(table, n) for n in names) if m is not None)


async def ensure(db: AsyncConnection, now: datetime, ahead: int = AHEAD) -> list[str]:
    """Make the partitions of the current and the next `ahead` months that are missing;
    returns their names. Call inside a transaction (the lock is held to its end)."""
    made: list[str] = []
    for table, column in PARTITIONED.items():
        if not await partitioned(db, table):
            continue
        await db.execute(text(lock_statement(table)))
        have = set(await months(db, table))
        for month in wanted(now, ahead):
            if month in have:
                continue
            for statement in create_statements(table, column, month):
                await db.execute(text(statement))
            made.append(month.name(table))
    if made:
        log.info("partitions made", extra={"partitions": made})
    return made


async def drop_expired(
    db: AsyncConnection, table: str, cutoff: datetime, held_devices: Iterable[object] = ()
) -> list[str]:
    """Drop `table`'s months wholly before `cutoff`, except a month holding a row of a held
    device (the row-by-row sweep then deletes the rest of it); returns the names dropped."""
    if table not in PARTITIONED or not await partitioned(db, table):
        return []
    await db.execute(text(lock_statement(table)))
    held = list(held_devices)
    dropped: list[str] = []
    for month in droppable(await months(db, table), cutoff):
        name = month.name(table)
        if held:
            keeps = await db.execute(
                text(f"SELECT 1 FROM {name} WHERE device_id = ANY(:held) LIMIT 1"),  # noqa: S608
                {"held": held},
            )
            if keeps.first() is not None:
                continue
        await db.execute(text(f"DROP TABLE {name}"))
        dropped.append(name)
    if dropped:
        log.info("expired partitions dropped", extra={"partitions": dropped})
    return dropped
