"""geofences

Revision ID: 0003
Revises: 0007 (the tip when it was written; a geofence-only change, any order works)
Create Date: 2026-11-26 01:55:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import camtel.db.base

revision: str = "0003"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "geofences",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("geometry", _json(), nullable=False),
        sa.Column("radius_m", sa.Double(), nullable=True),
        sa.Column("width_m", sa.Double(), nullable=True),
        sa.Column("speed_limit_kmh", sa.Double(), nullable=True),
        sa.Column("schedule", _json(), nullable=True),
        sa.Column("breach_on", sa.String(length=8), nullable=True),
        sa.Column("updated_at", camtel.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", camtel.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_geofences_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_geofences")),
    )
    with op.batch_alter_table("geofences", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_geofences_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "geofence_devices",
        sa.Column("geofence_id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_geofence_devices_device_id_devices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["geofence_id"],
            ["geofences.id"],
            name=op.f("fk_geofence_devices_geofence_id_geofences"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("geofence_id", "device_id", name=op.f("pk_geofence_devices")),
    )
    with op.batch_alter_table("geofence_devices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_geofence_devices_device_id"), ["device_id"], unique=False
        )

    op.create_table(
        "geofence_groups",
        sa.Column("geofence_id", sa.Uuid(), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["geofence_id"],
            ["geofences.id"],
            name=op.f("fk_geofence_groups_geofence_id_geofences"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["device_groups.id"],
            name=op.f("fk_geofence_groups_group_id_device_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("geofence_id", "group_id", name=op.f("pk_geofence_groups")),
    )
    with op.batch_alter_table("geofence_groups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_geofence_groups_group_id"), ["group_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("geofence_groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_geofence_groups_group_id"))
    op.drop_table("geofence_groups")
    with op.batch_alter_table("geofence_devices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_geofence_devices_device_id"))
    op.drop_table("geofence_devices")
    with op.batch_alter_table("geofences", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_geofences_organization_id"))
    op.drop_table("geofences")
