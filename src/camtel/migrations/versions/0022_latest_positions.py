"""latest positions: each device's newest fix kept ready for the live map

`latest_positions` holds, per device, the key of its newest fix in `positions` (time, dedup)
and that fix's item of `GET /positions/latest` as JSON text; the store keeps it with each
batch (`camtel.devices.latest`). Filled here from `positions` with the query the answer was
computed with before (`camtel.devices.service.newest_fixes`), as it is at this revision.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 23:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import camtel.db.base

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHUNK = 1000


def upgrade() -> None:
    table = op.create_table(
        "latest_positions",
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("time", camtel.db.base.UTCMicros(), nullable=False),
        sa.Column("dedup", sa.BigInteger(), nullable=False),
        sa.Column("fragment", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("device_id"),
    )
    _fill(table)


def _fill(table: sa.Table) -> None:
    from camtel.devices import latest, service
    from camtel.devices.models import Device

    bind = op.get_bind()
    devices = list(bind.execute(sa.select(Device.id).order_by(Device.id)).scalars())
    for start in range(0, len(devices), _CHUNK):
        chunk = devices[start : start + _CHUNK]
        rows = bind.execute(service.newest_fixes(sa.select(Device).where(Device.id.in_(chunk))))
        kept = latest.kept(rows.all())
        if kept:
            bind.execute(sa.insert(table), kept)


def downgrade() -> None:
    op.drop_table("latest_positions")
