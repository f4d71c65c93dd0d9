"""ingest: cameras, plate reads (partitioned by capture day on PostgreSQL), holds, exports, outbox

The first and only revision so far: the history before the first release was squashed into
it. The outbox tables come from the kernel (`alpr_common.migrations.create_outbox_tables`).

Written by hand where autogenerate cannot express it: on PostgreSQL `plate_read` is
RANGE-partitioned on `captured_at` (one partition per UTC day, created ahead by the service and
on demand; see alpr_ingest.partitions), so its primary and unique keys include `captured_at`,
and indexes created on the parent cascade to every partition. SQLite gets the same table,
unpartitioned.

Revision ID: 35b54ab3f3cb
Revises:
Create Date: 2026-12-05 13:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import alpr_common.db
from alpr_common.migrations import create_outbox_tables, drop_outbox_tables

revision: str = "35b54ab3f3cb"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_outbox_tables(op)
    op.create_table(
        "camera",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("vendor", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("camera_type", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("zip_code", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("sector", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("updated_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("activated_at", alpr_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("retired_at", alpr_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_heartbeat_at", alpr_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("streaming", sa.Boolean(), nullable=True),
        sa.Column(
            "heartbeat",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_camera")),
    )
    op.create_table(
        "held_read",
        sa.Column("read_id", sa.Uuid(), nullable=False),
        sa.Column("captured_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("plate", sqlmodel.sql.sqltypes.AutoString(length=15), nullable=False),
        sa.Column("plate_key", sqlmodel.sql.sqltypes.AutoString(length=15), nullable=False),
        sa.Column("plate_raw", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("region", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column(
            "candidates",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("camera_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("camera_type", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("zip_code", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("sector", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column(
            "vehicle",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("image_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("vendor_read_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("group_state", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
        sa.Column("related_count", sa.Integer(), nullable=False),
        sa.Column("dedup_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("device_time", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("clock_skew_seconds", sa.Float(), nullable=False),
        sa.Column("clock_flagged", sa.Boolean(), nullable=False),
        sa.Column("posted_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("copied_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("read_id", name=op.f("pk_held_read")),
    )
    with op.batch_alter_table("held_read", schema=None) as batch_op:
        batch_op.create_index("ix_held_read_captured_at", ["captured_at"], unique=False)
        batch_op.create_index("ix_held_read_image_sha256", ["image_sha256"], unique=False)

    # 344.4(d): whole days are dropped by the purge, never DELETEd row by row.
    partitioned = (
        {"postgresql_partition_by": "RANGE (captured_at)"}
        if op.get_bind().dialect.name == "postgresql"
        else {}
    )
    op.create_table(
        "plate_read",
        sa.Column("read_id", sa.Uuid(), nullable=False),
        sa.Column("captured_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("plate", sqlmodel.sql.sqltypes.AutoString(length=15), nullable=False),
        sa.Column("plate_key", sqlmodel.sql.sqltypes.AutoString(length=15), nullable=False),
        sa.Column("plate_raw", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("region", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column(
            "candidates",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("camera_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("camera_type", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("zip_code", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("sector", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column(
            "vehicle",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("image_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("vendor_read_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("group_state", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
        sa.Column("related_count", sa.Integer(), nullable=False),
        sa.Column("dedup_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("device_time", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("clock_skew_seconds", sa.Float(), nullable=False),
        sa.Column("clock_flagged", sa.Boolean(), nullable=False),
        sa.Column("posted_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.PrimaryKeyConstraint("read_id", "captured_at", name=op.f("pk_plate_read")),
        **partitioned,
    )
    with op.batch_alter_table("plate_read", schema=None) as batch_op:
        batch_op.create_index(
            "ix_plate_read_camera_id_captured_at", ["camera_id", "captured_at"], unique=False
        )
        batch_op.create_index(
            "ix_plate_read_image_sha256",
            ["image_sha256"],
            unique=False,
            postgresql_where=sa.text("image_sha256 IS NOT NULL"),
            sqlite_where=sa.text("image_sha256 IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_plate_read_plate_captured_at", ["plate", "captured_at"], unique=False
        )
        batch_op.create_index(
            "ix_plate_read_plate_key_captured_at", ["plate_key", "captured_at"], unique=False
        )
        batch_op.create_index(
            "uq_plate_read_dedup_key_captured_at", ["dedup_key", "captured_at"], unique=True
        )

    op.create_table(
        "read_hold",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("case_number", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("retention_until", sa.Date(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_by_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("reviewed_at", alpr_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("review_notes", sa.Text(), nullable=True),
        sa.Column("released_at", alpr_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("released_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("release_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_read_hold")),
    )
    with op.batch_alter_table("read_hold", schema=None) as batch_op:
        batch_op.create_index("ix_read_hold_case_number", ["case_number"], unique=False)
        batch_op.create_index(
            "ix_read_hold_status_retention_until", ["status", "retention_until"], unique=False
        )

    op.create_table(
        "camera_key",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("camera_id", sa.String(length=128), nullable=False),
        sa.Column("created_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["camera.id"], name=op.f("fk_camera_key_camera_id_camera")
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_camera_key")),
    )
    with op.batch_alter_table("camera_key", schema=None) as batch_op:
        batch_op.create_index("ix_camera_key_camera_id", ["camera_id"], unique=False)

    op.create_table(
        "case_export",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("hold_id", sa.String(length=32), nullable=False),
        sa.Column("case_number", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "purpose",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("exported_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("exported_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("exported_by_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("read_count", sa.Integer(), nullable=False),
        sa.Column("image_count", sa.Integer(), nullable=False),
        sa.Column("file_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("bundle_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("bundle_bytes", sa.Integer(), nullable=False),
        sa.Column(
            "manifest",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "custody",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["hold_id"], ["read_hold.id"], name=op.f("fk_case_export_hold_id_read_hold")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_export")),
    )
    with op.batch_alter_table("case_export", schema=None) as batch_op:
        batch_op.create_index("ix_case_export_hold_id", ["hold_id"], unique=False)

    op.create_table(
        "equipment_problem",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("camera_id", sa.String(length=128), nullable=True),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("reported_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reported_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("reported_by_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("updated_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["camera.id"], name=op.f("fk_equipment_problem_camera_id_camera")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_equipment_problem")),
    )
    with op.batch_alter_table("equipment_problem", schema=None) as batch_op:
        batch_op.create_index(
            "ix_equipment_problem_status_reported_at", ["status", "reported_at"], unique=False
        )

    op.create_table(
        "hold_item",
        sa.Column("hold_id", sa.String(length=32), nullable=False),
        sa.Column("read_id", sa.Uuid(), nullable=False),
        sa.Column("added_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["hold_id"], ["read_hold.id"], name=op.f("fk_hold_item_hold_id_read_hold")
        ),
        sa.PrimaryKeyConstraint("hold_id", "read_id", name=op.f("pk_hold_item")),
    )
    with op.batch_alter_table("hold_item", schema=None) as batch_op:
        batch_op.create_index("ix_hold_item_read_id", ["read_id"], unique=False)

    op.create_table(
        "placement_review",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("camera_id", sa.String(length=128), nullable=False),
        sa.Column("reviewer", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("reviewed_on", sa.Date(), nullable=False),
        sa.Column("approved", sa.Boolean(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("zip_code", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("sector", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("recorded_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["camera.id"], name=op.f("fk_placement_review_camera_id_camera")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_placement_review")),
    )
    with op.batch_alter_table("placement_review", schema=None) as batch_op:
        batch_op.create_index("ix_placement_review_camera_id", ["camera_id"], unique=False)

    op.create_table(
        "read_alias",
        sa.Column("alias_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("read_id", sa.Uuid(), nullable=False),
        sa.Column("captured_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("alias_key", name=op.f("pk_read_alias")),
    )
    with op.batch_alter_table("read_alias", schema=None) as batch_op:
        batch_op.create_index("ix_read_alias_captured_at", ["captured_at"], unique=False)
        batch_op.create_index("ix_read_alias_read_id", ["read_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("read_alias", schema=None) as batch_op:
        batch_op.drop_index("ix_read_alias_read_id")
        batch_op.drop_index("ix_read_alias_captured_at")
    op.drop_table("read_alias")

    with op.batch_alter_table("placement_review", schema=None) as batch_op:
        batch_op.drop_index("ix_placement_review_camera_id")

    op.drop_table("placement_review")
    with op.batch_alter_table("hold_item", schema=None) as batch_op:
        batch_op.drop_index("ix_hold_item_read_id")

    op.drop_table("hold_item")
    with op.batch_alter_table("equipment_problem", schema=None) as batch_op:
        batch_op.drop_index("ix_equipment_problem_status_reported_at")

    op.drop_table("equipment_problem")
    with op.batch_alter_table("case_export", schema=None) as batch_op:
        batch_op.drop_index("ix_case_export_hold_id")

    op.drop_table("case_export")
    with op.batch_alter_table("camera_key", schema=None) as batch_op:
        batch_op.drop_index("ix_camera_key_camera_id")

    op.drop_table("camera_key")
    with op.batch_alter_table("read_hold", schema=None) as batch_op:
        batch_op.drop_index("ix_read_hold_status_retention_until")
        batch_op.drop_index("ix_read_hold_case_number")

    op.drop_table("read_hold")
    with op.batch_alter_table("plate_read", schema=None) as batch_op:
        batch_op.drop_index("uq_plate_read_dedup_key_captured_at")
        batch_op.drop_index("ix_plate_read_plate_key_captured_at")
        batch_op.drop_index("ix_plate_read_plate_captured_at")
        batch_op.drop_index(
            "ix_plate_read_image_sha256",
            postgresql_where=sa.text("image_sha256 IS NOT NULL"),
            sqlite_where=sa.text("image_sha256 IS NOT NULL"),
        )
        batch_op.drop_index("ix_plate_read_camera_id_captured_at")

    op.drop_table("plate_read")
    with op.batch_alter_table("held_read", schema=None) as batch_op:
        batch_op.drop_index("ix_held_read_image_sha256")
        batch_op.drop_index("ix_held_read_captured_at")

    op.drop_table("held_read")
    op.drop_table("camera")
    drop_outbox_tables(op)
