"""browser-playable copies of recordings

media gets `playable`, `playable_key`, `playable_size` and `playable_info`: the H.264 copy
of a video browsers cannot decode (camtel.media.derivatives). Videos analysed before this
revision whose codecs browsers cannot play are marked `pending`, so that the next worker
start makes their copies.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 06:00:00.000000
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("media", schema=None) as batch_op:
        batch_op.add_column(sa.Column("playable", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("playable_key", sa.String(length=300), nullable=True))
        batch_op.add_column(
            sa.Column("playable_size", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column(
                "playable_info",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=False,
                server_default=sa.text("'{}'"),
            )
        )
        batch_op.create_index(batch_op.f("ix_media_playable"), ["playable"], unique=False)
    _ask_for_copies()


def _ask_for_copies() -> None:
    from camtel.media.transcode import needs_copy

    media = sa.table(
        "media",
        sa.column("id", sa.Uuid()),
        sa.column("kind", sa.String()),
        sa.column("status", sa.String()),
        sa.column("probe", sa.JSON()),
        sa.column("playable", sa.String()),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(media.c.id, media.c.kind, media.c.probe).where(media.c.status == "ready")
    )
    wanted = [row.id for row in rows if needs_copy(row.kind, _json(row.probe))]
    for start in range(0, len(wanted), 500):
        bind.execute(
            media.update()
            .where(media.c.id.in_(wanted[start : start + 500]))
            .values(playable="pending")
        )


def _json(value: object) -> dict:
    if isinstance(value, str | bytes):
        value = json.loads(value)
    return value if isinstance(value, dict) else {}


def downgrade() -> None:
    # The copies' objects stay in the store unreferenced; deleting them needs the store,
    # which a migration does not open. They are encrypted, and erasure destroys their key.
    with op.batch_alter_table("media", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_media_playable"))
        batch_op.drop_column("playable_info")
        batch_op.drop_column("playable_size")
        batch_op.drop_column("playable_key")
        batch_op.drop_column("playable")
