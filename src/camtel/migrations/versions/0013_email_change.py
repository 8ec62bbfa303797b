"""email change (P19): the pending new address on an email token

email_tokens gets `new_email`, set only on tokens of purpose "change": the address the
mailed link confirms. The account keeps its old address until the link is opened.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("email_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("new_email", sa.String(length=254), nullable=True))


def downgrade() -> None:
    # A pending change cannot be confirmed without its address: drop those links too.
    op.execute("DELETE FROM email_tokens WHERE purpose = 'change'")
    with op.batch_alter_table("email_tokens", schema=None) as batch_op:
        batch_op.drop_column("new_email")
