"""job claims: leases on background work

media gets `analysis_claimed_by/_until`, `redaction_claimed_by/_until` and
`playable_claimed_by/_until`, privacy_requests `claimed_by/_until`: which camtel process works
on the row's job and until when its lease holds (camtel.db.claims), so that any worker can
take any job and a dead worker's job is taken over. media.status gets an index: workers poll
for recordings `processing`. No existing row is claimed.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import camtel.db.base

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MEDIA = ("analysis", "redaction", "playable")


def upgrade() -> None:
    with op.batch_alter_table("media", schema=None) as batch_op:
        for prefix in _MEDIA:
            batch_op.add_column(sa.Column(f"{prefix}_claimed_by", sa.String(80), nullable=True))
            batch_op.add_column(
                sa.Column(
                    f"{prefix}_claimed_until",
                    camtel.db.base.UTCDateTime(timezone=True),
                    nullable=True,
                )
            )
        batch_op.create_index(batch_op.f("ix_media_status"), ["status"], unique=False)
    # Plain ALTER TABLE, never a batch copy: SQLite's consent-record triggers (0007, 0011)
    # name privacy_requests, and a copy-and-rename of the table breaks on them.
    op.add_column("privacy_requests", sa.Column("claimed_by", sa.String(80), nullable=True))
    op.add_column(
        "privacy_requests",
        sa.Column("claimed_until", camtel.db.base.UTCDateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("privacy_requests", "claimed_until")  # SQLite 3.35+: ALTER TABLE DROP COLUMN
    op.drop_column("privacy_requests", "claimed_by")
    with op.batch_alter_table("media", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_media_status"))
        for prefix in reversed(_MEDIA):
            batch_op.drop_column(f"{prefix}_claimed_until")
            batch_op.drop_column(f"{prefix}_claimed_by")
