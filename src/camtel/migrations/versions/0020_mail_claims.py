"""mail claims: a pending mail is sent by one process at a time

outbox_mail gets `claimed_by` and `claimed_until` (camtel.db.claims): an API node sending
right after a request and a worker's retry round never both send one mail.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import camtel.db.base

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("outbox_mail", sa.Column("claimed_by", sa.String(80), nullable=True))
    op.add_column(
        "outbox_mail",
        sa.Column("claimed_until", camtel.db.base.UTCDateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("outbox_mail", "claimed_until")  # SQLite 3.35+: ALTER TABLE DROP COLUMN
    op.drop_column("outbox_mail", "claimed_by")
