"""positions partitioned by month on PostgreSQL

On PostgreSQL `positions` becomes a table partitioned by range of `time`: one partition for
each month that holds fixes, the current month and the next `camtel.db.partitions.AHEAD`, and
a default partition for anything outside them. Key, columns and the foreign key stay as they
are. SQLite has no partitions and is left alone.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 15:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

from alembic import op
from sqlalchemy import text

from camtel.db import partitions

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEY = "PRIMARY KEY (device_id, time, dedup)"
_DEVICE = "FOREIGN KEY (device_id) REFERENCES devices (id) ON DELETE CASCADE"


def _rename(table: str, to: str) -> None:
    op.execute(f"ALTER TABLE {table} RENAME TO {to}")
    op.execute(f'ALTER TABLE {to} RENAME CONSTRAINT "pk_{table}" TO "pk_{to}"')
    op.execute(
        f'ALTER TABLE {to} RENAME CONSTRAINT "fk_{table}_device_id_devices" '
        f'TO "fk_{to}_device_id_devices"'
    )


def _constrain(table: str) -> None:
    op.execute(f'ALTER TABLE {table} ADD CONSTRAINT "pk_{table}" {_KEY}')
    op.execute(f'ALTER TABLE {table} ADD CONSTRAINT "fk_{table}_device_id_devices" {_DEVICE}')


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        return
    _rename("positions", "positions_plain")
    op.execute(
        "CREATE TABLE positions (LIKE positions_plain INCLUDING DEFAULTS) PARTITION BY RANGE (time)"
    )
    _constrain("positions")
    op.execute(
        f"CREATE TABLE {partitions.default_name('positions')} PARTITION OF positions DEFAULT"
    )
    now = datetime.now(UTC)
    wanted = set(partitions.wanted(now))
    last = max(wanted)
    held = connection.execute(
        text("SELECT DISTINCT date_trunc('month', time, 'UTC') FROM positions_plain")
    ).scalars()
    # Every month that holds fixes gets its partition, except beyond the months made ahead
    # (a clock years in the future): those rows wait in the default partition.
    months = wanted | {m for m in map(partitions.Month.of, held) if m <= last}
    for month in sorted(months):
        for statement in partitions.create_statements("positions", "time", month):
            op.execute(statement)
    op.execute("INSERT INTO positions SELECT * FROM positions_plain")
    op.drop_table("positions_plain")


def downgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        return
    _rename("positions", "positions_by_month")
    op.execute("CREATE TABLE positions (LIKE positions_by_month INCLUDING DEFAULTS)")
    _constrain("positions")
    op.execute("INSERT INTO positions SELECT * FROM positions_by_month")
    op.execute("DROP TABLE positions_by_month CASCADE")
