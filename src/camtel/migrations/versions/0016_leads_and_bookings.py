"""leads and demo bookings; mail with an HTML part and attachments

leads holds quotes visitors saved with their contact details and consent; demo_bookings holds
booked demo slots (a unique start refuses a second booking of a slot). Both are personal data
kept 12 months (camtel.privacy.registry). outbox_mail gets `html` (an HTML alternative of the
text body) and `attachments` (text files such as a calendar invitation), cleared with the
body after delivery.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 06:43:19.883341
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import camtel.db.base

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _person_columns() -> list[sa.Column]:
    return [
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("company", sa.String(length=200), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "demo_bookings",
        *_person_columns(),
        sa.Column("starts_at", camtel.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", camtel.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", camtel.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", camtel.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_demo_bookings_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_demo_bookings")),
        sa.UniqueConstraint("starts_at", name=op.f("uq_demo_bookings_starts_at")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_demo_bookings_token_hash")),
    )
    with op.batch_alter_table("demo_bookings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_demo_bookings_email"), ["email"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_demo_bookings_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_demo_bookings_user_id"), ["user_id"], unique=False)

    op.create_table(
        "leads",
        *_person_columns(),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("quote", _json(), nullable=False),
        sa.Column("consent_text", sa.String(length=500), nullable=False),
        sa.Column("consent_version", sa.String(length=40), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", camtel.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", camtel.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_leads_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leads")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_leads_token_hash")),
    )
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_leads_email"), ["email"], unique=False)
        batch_op.create_index(batch_op.f("ix_leads_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_leads_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("outbox_mail", schema=None) as batch_op:
        batch_op.add_column(sa.Column("html", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("attachments", _json(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_mail", schema=None) as batch_op:
        batch_op.drop_column("attachments")
        batch_op.drop_column("html")
    op.drop_table("leads")
    op.drop_table("demo_bookings")
