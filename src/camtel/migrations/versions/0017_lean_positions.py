"""lean positions: keyed by (device, time, dedup), typed attribute columns, compact times

positions loses its UUID `id` and its two indexes: the primary key is (device_id, time, dedup)
(in SQLite the table is that key's B-tree, WITHOUT ROWID), `dedup` is a 64-bit integer (the
first 8 bytes of the 12-byte digest kept before), times are microseconds since 1970 in SQLite,
and the attributes most fixes carry get typed columns (the JT/T 808 status word's named bits
derived on read), the rest staying JSON in `extra`. A row goes from ~1,050 to ~150 bytes in
SQLite. Existing rows are copied through `camtel.devices.position_attributes.pack` as it is at
this revision; a later revision adding a lean column migrates its own.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 12:00:00
"""

from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql, sqlite

import camtel.db.base
from camtel.devices import position_attributes

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHUNK = 5000
_PLAIN = (
    "latitude",
    "longitude",
    "valid",
    "speed_kmh",
    "course",
    "altitude",
    "accuracy_m",
    "source",
)


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _metadata() -> sa.MetaData:
    """Table definitions of this revision, with the devices table their key refers to."""
    metadata = sa.MetaData()
    sa.Table("devices", metadata, sa.Column("id", sa.Uuid(), primary_key=True))
    return metadata


def _lean_table(metadata: sa.MetaData, name: str) -> sa.Table:
    return sa.Table(
        name,
        metadata,
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("time", camtel.db.base.UTCMicros(), nullable=False),
        sa.Column("dedup", sa.BigInteger(), nullable=False),
        sa.Column("server_time", camtel.db.base.UTCMicros(), nullable=False),
        sa.Column("latitude", sa.Double(), nullable=False),
        sa.Column("longitude", sa.Double(), nullable=False),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("speed_kmh", sa.Double(), nullable=True),
        sa.Column("course", sa.Double(), nullable=True),
        sa.Column("altitude", sa.Double(), nullable=True),
        sa.Column("accuracy_m", sa.Double(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("alarm_flags", sa.BigInteger(), nullable=True),
        sa.Column("odometer_m", sa.BigInteger(), nullable=True),
        sa.Column("satellites", sa.BigInteger(), nullable=True),
        sa.Column("rssi", sa.BigInteger(), nullable=True),
        sa.Column("ignition", sa.Boolean(), nullable=True),
        sa.Column("blind_area", sa.Boolean(), nullable=True),
        sa.Column("motion", sa.Boolean(), nullable=True),
        sa.Column("distance_m", sa.Double(), nullable=True),
        sa.Column("total_distance_m", sa.Double(), nullable=True),
        sa.Column("status_flags", sa.BigInteger(), nullable=True),
        sa.Column("extra", _json(), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f(f"fk_{name}_device_id_devices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("device_id", "time", "dedup", name=op.f(f"pk_{name}")),
        sqlite_with_rowid=False,
    )


def _wide_table(metadata: sa.MetaData, name: str) -> sa.Table:
    return sa.Table(
        name,
        metadata,
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("time", camtel.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("server_time", camtel.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("latitude", sa.Double(), nullable=False),
        sa.Column("longitude", sa.Double(), nullable=False),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("speed_kmh", sa.Double(), nullable=True),
        sa.Column("course", sa.Double(), nullable=True),
        sa.Column("altitude", sa.Double(), nullable=True),
        sa.Column("accuracy_m", sa.Double(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("dedup", sa.String(length=32), nullable=False),
        sa.Column("attributes", _json(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f(f"fk_{name}_device_id_devices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        sa.UniqueConstraint(
            "device_id", "time", "dedup", name=op.f(f"uq_{name}_device_id_time_dedup")
        ),
    )


def _dedup_number(text: str) -> int:
    """The 64-bit key of a digest kept as hex (its first 8 bytes, signed); '' is 0."""
    if not text:
        return 0
    return int.from_bytes(bytes.fromhex(text[:16].ljust(16, "0")), "big", signed=True)


def _chunks(connection: sa.Connection, table: sa.Table) -> Iterator[Sequence[sa.Row[Any]]]:
    # Options of this statement only: the connection's own would stream the DROP after it.
    result = connection.execute(
        sa.select(table), execution_options={"stream_results": True, "yield_per": _CHUNK}
    )
    yield from result.partitions(_CHUNK)


def _insert(connection: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    dialect = connection.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    connection.execute(insert(table).on_conflict_do_nothing(), rows)


def upgrade() -> None:
    connection = op.get_bind()
    with op.batch_alter_table("positions", schema=None) as batch_op:
        batch_op.drop_index("ix_positions_device_time")
    op.rename_table("positions", "positions_wide")
    if connection.dialect.name == "postgresql":
        for old, new in (
            ("pk_positions", "pk_positions_wide"),
            ("uq_positions_device_id_time_dedup", "uq_positions_wide_device_id_time_dedup"),
            ("fk_positions_device_id_devices", "fk_positions_wide_device_id_devices"),
        ):
            op.execute(f'ALTER TABLE positions_wide RENAME CONSTRAINT "{old}" TO "{new}"')
    lean = _lean_table(_metadata(), "positions")
    lean.create(connection)
    wide = _wide_table(_metadata(), "positions_wide")
    names = position_attributes.COLUMNS
    for rows in _chunks(connection, wide):
        converted = []
        for row in rows:
            values = {name: getattr(row, name) for name in _PLAIN}
            values.update(
                device_id=row.device_id,
                time=row.time,
                server_time=row.server_time,
                dedup=_dedup_number(row.dedup),
            )
            values.update(zip(names, position_attributes.pack(row.attributes or {}), strict=True))
            converted.append(values)
        _insert(connection, lean, converted)
    op.drop_table("positions_wide")


def downgrade() -> None:
    connection = op.get_bind()
    op.rename_table("positions", "positions_lean")
    if connection.dialect.name == "postgresql":
        op.execute(
            'ALTER TABLE positions_lean RENAME CONSTRAINT "pk_positions" TO "pk_positions_lean"'
        )
        op.execute(
            'ALTER TABLE positions_lean RENAME CONSTRAINT "fk_positions_device_id_devices" '
            'TO "fk_positions_lean_device_id_devices"'
        )
    lean = _lean_table(_metadata(), "positions_lean")
    names = position_attributes.COLUMNS
    wide = _wide_table(_metadata(), "positions")
    wide.create(connection)
    for rows in _chunks(connection, lean):
        converted = []
        for row in rows:
            values = {name: getattr(row, name) for name in _PLAIN}
            packed = [getattr(row, name) for name in names]
            values.update(
                id=camtel.db.base.new_id(),
                device_id=row.device_id,
                time=row.time,
                server_time=row.server_time,
                dedup=f"{row.dedup & 0xFFFF_FFFF_FFFF_FFFF:016x}" if row.dedup else "",
                attributes=position_attributes.unpack(packed),
            )
            converted.append(values)
        _insert(connection, wide, converted)
    op.drop_table("positions_lean")
    with op.batch_alter_table("positions", schema=None) as batch_op:
        batch_op.create_index("ix_positions_device_time", ["device_id", "time"], unique=False)
