"""media shares and redacted copies

Revision ID: 0010
Revises: 0003
Create Date: 2026-11-26 04:39:01.309947
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import camtel.db.base

revision: str = "0010"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "media_shares",
        sa.Column("media_id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", camtel.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", camtel.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("redact", sa.Boolean(), nullable=False),
        sa.Column("max_views", sa.Integer(), nullable=True),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.Column("last_viewed_at", camtel.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", camtel.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["media_id"],
            ["media.id"],
            name=op.f("fk_media_shares_media_id_media"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_media_shares_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_media_shares_owner_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_shares")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_media_shares_token_hash")),
    )
    with op.batch_alter_table("media_shares", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_media_shares_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_media_shares_media_id"), ["media_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_media_shares_owner_id"), ["owner_id"], unique=False)

    # Existing recordings have no redacted copy yet: size 0, empty info.
    with op.batch_alter_table("media", schema=None) as batch_op:
        batch_op.add_column(sa.Column("redaction", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("redacted_key", sa.String(length=300), nullable=True))
        batch_op.add_column(
            sa.Column("redacted_size", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column(
                "redaction_info",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=False,
                server_default=sa.text("'{}'"),
            )
        )
        batch_op.create_index(batch_op.f("ix_media_redaction"), ["redaction"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("media", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_media_redaction"))
        batch_op.drop_column("redaction_info")
        batch_op.drop_column("redacted_size")
        batch_op.drop_column("redacted_key")
        batch_op.drop_column("redaction")

    with op.batch_alter_table("media_shares", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_media_shares_owner_id"))
        batch_op.drop_index(batch_op.f("ix_media_shares_media_id"))
        batch_op.drop_index(batch_op.f("ix_media_shares_expires_at"))

    op.drop_table("media_shares")
