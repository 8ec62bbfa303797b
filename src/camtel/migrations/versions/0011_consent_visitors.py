"""consent: anonymous visitors' cookie choices in the ledger; extra headers on outbox mail

consent_records gets `visitor_id` (a random id kept only in the visitor's consent cookie) and
`user_id` becomes nullable; exactly one of them names whose decision a row is. The
append-only triggers are recreated so that they cover visitor rows too: a visitor row is
never changed, and is deleted only once it is older than VISITOR_RETENTION_DAYS.
outbox_mail gets `headers` (RFC 8058 List-Unsubscribe on product news).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 03:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Keep in step with camtel.privacy.consent.VISITOR_RETENTION_DAYS (cookie life + margin).
VISITOR_RETENTION_DAYS = 395


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    _drop_triggers()
    with op.batch_alter_table("consent_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("visitor_id", sa.String(length=32), nullable=True))
        batch_op.alter_column("user_id", existing_type=sa.Uuid(), nullable=True)
        batch_op.create_index(
            "ix_consent_records_visitor_purpose_time",
            ["visitor_id", "purpose", "time"],
            unique=False,
        )
        batch_op.create_check_constraint(
            op.f("ck_consent_records_one_subject"), "(user_id IS NULL) <> (visitor_id IS NULL)"
        )
    with op.batch_alter_table("outbox_mail", schema=None) as batch_op:
        batch_op.add_column(sa.Column("headers", _json(), nullable=True))
    _create_triggers(visitors=True)


def downgrade() -> None:
    _drop_triggers()
    # Visitor rows have no person to belong to under the old schema.
    op.execute("DELETE FROM consent_records WHERE user_id IS NULL")
    with op.batch_alter_table("outbox_mail", schema=None) as batch_op:
        batch_op.drop_column("headers")
    with op.batch_alter_table("consent_records", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_consent_records_one_subject"), type_="check")
        batch_op.drop_index("ix_consent_records_visitor_purpose_time")
        batch_op.alter_column("user_id", existing_type=sa.Uuid(), nullable=False)
        batch_op.drop_column("visitor_id")
    _create_triggers(visitors=False)


def _drop_triggers() -> None:
    # Dropped before a batch migration (SQLite recreates the table, losing them) and recreated.
    if _postgresql():
        op.execute("DROP TRIGGER IF EXISTS consent_records_append_only ON consent_records")
        op.execute("DROP FUNCTION IF EXISTS camtel_consent_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS consent_records_no_update")
        op.execute("DROP TRIGGER IF EXISTS consent_records_no_delete")


# The rules of 0007, extended: a person's record goes only with its person (their `users` row
# is gone, or their erasure is in progress); an anonymous visitor's record goes only when it
# is older than the retention; an UPDATE passes only as the ON DELETE SET NULL of `actor_id`.
_PG_PERSON_GONE = (
    "NOT EXISTS (SELECT 1 FROM users u WHERE u.id = OLD.user_id) OR EXISTS (SELECT 1 FROM "
    "privacy_requests r WHERE r.user_id = OLD.user_id AND r.kind = 'erasure' "
    "AND r.status = 'in_progress')"
)
_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION camtel_consent_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF {delete_allowed} THEN
      RETURN OLD;
    END IF;
  ELSIF NEW.actor_id IS NULL AND OLD.actor_id IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = OLD.actor_id)
        AND ({columns}) IS NOT DISTINCT FROM
            ({old_columns}) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'consent records are append-only: record a new decision instead'
    USING ERRCODE = 'integrity_constraint_violation';
END
$$
"""
_SQLITE_NO_UPDATE = """
CREATE TRIGGER consent_records_no_update BEFORE UPDATE ON consent_records
WHEN NOT (
  NEW.actor_id IS NULL AND OLD.actor_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = OLD.actor_id)
  AND {same}
)
BEGIN SELECT RAISE(ABORT, 'consent records are append-only: record a new decision instead');
END
"""
_SQLITE_PERSON_KEPT = (
    "EXISTS (SELECT 1 FROM users u WHERE u.id = OLD.user_id) AND NOT EXISTS (SELECT 1 FROM "
    "privacy_requests r WHERE r.user_id = OLD.user_id AND r.kind = 'erasure' "
    "AND r.status = 'in_progress')"
)
_SQLITE_NO_DELETE = """
CREATE TRIGGER consent_records_no_delete BEFORE DELETE ON consent_records
WHEN {refused}
BEGIN SELECT RAISE(ABORT, 'consent records are append-only: record a new decision instead');
END
"""


def _create_triggers(*, visitors: bool) -> None:
    columns = ["id", "user_id", "purpose", "outcome", "policy_version", "time", "channel"]
    if visitors:
        columns.append("visitor_id")
    if _postgresql():
        delete_allowed = (
            f"(OLD.user_id IS NULL AND OLD.time < now() - interval "
            f"'{VISITOR_RETENTION_DAYS} days') OR (OLD.user_id IS NOT NULL AND "
            f"({_PG_PERSON_GONE}))"
            if visitors
            else _PG_PERSON_GONE
        )
        op.execute(
            _PG_FUNCTION.format(
                delete_allowed=delete_allowed,
                columns=", ".join(f"NEW.{c}" for c in columns),
                old_columns=", ".join(f"OLD.{c}" for c in columns),
            )
        )
        op.execute(
            "CREATE TRIGGER consent_records_append_only BEFORE UPDATE OR DELETE ON "
            "consent_records FOR EACH ROW EXECUTE FUNCTION camtel_consent_append_only()"
        )
        return
    # SQLite keeps these times as 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC: text order is time order.
    refused = (
        f"CASE WHEN OLD.user_id IS NULL THEN OLD.time >= datetime('now', "
        f"'-{VISITOR_RETENTION_DAYS} days') ELSE {_SQLITE_PERSON_KEPT} END"
        if visitors
        else _SQLITE_PERSON_KEPT
    )
    op.execute(_SQLITE_NO_UPDATE.format(same=" AND ".join(f"NEW.{c} IS OLD.{c}" for c in columns)))
    op.execute(_SQLITE_NO_DELETE.format(refused=refused))
