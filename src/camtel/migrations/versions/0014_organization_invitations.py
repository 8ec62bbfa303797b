"""organisation invitations: joining an organisation needs the invited person's consent

organization_invitations holds an invited address, the role offered, who invited and, once
known, the invited person's account; the invited person accepts or declines. Rows are swept
when they expire (camtel.privacy.registry).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 04:47:56.042114
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import camtel.db.base

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "organization_invitations",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("invited_by", sa.Uuid(), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("expires_at", camtel.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", camtel.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", camtel.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["invited_by"],
            ["users.id"],
            name=op.f("fk_organization_invitations_invited_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_organization_invitations_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_organization_invitations_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organization_invitations")),
    )
    with op.batch_alter_table("organization_invitations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_organization_invitations_email"), ["email"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_organization_invitations_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_organization_invitations_invited_by"), ["invited_by"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_organization_invitations_organization_id"),
            ["organization_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_organization_invitations_user_id"), ["user_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("organization_invitations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organization_invitations_user_id"))
        batch_op.drop_index(batch_op.f("ix_organization_invitations_organization_id"))
        batch_op.drop_index(batch_op.f("ix_organization_invitations_invited_by"))
        batch_op.drop_index(batch_op.f("ix_organization_invitations_expires_at"))
        batch_op.drop_index(batch_op.f("ix_organization_invitations_email"))

    op.drop_table("organization_invitations")
