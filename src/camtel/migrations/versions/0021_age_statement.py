"""age statement: how each account's age is known (P20)

users gets `age_basis` (birth_date, confirmed_adult or unstated) and `age_stated_at`. An
account with a date of birth stated it when it registered (no route changed it since); any
other is unstated until the person states it in the privacy centre.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 22:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import camtel.db.base

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column("age_basis", sa.String(16), nullable=False, server_default="unstated"),
    )
    op.add_column(
        "users",
        sa.Column("age_stated_at", camtel.db.base.UTCDateTime(timezone=True), nullable=True),
    )
    op.execute(
        "UPDATE users SET age_basis = 'birth_date', age_stated_at = created_at"
        " WHERE date_of_birth IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_column("users", "age_stated_at")  # SQLite 3.35+: ALTER TABLE DROP COLUMN
    op.drop_column("users", "age_basis")
