"""hotlist: lists, entries, imports, alerts, incidents, inbox, counters, outbox

The first and only revision so far: the history before the first release was squashed into
it. The outbox tables come from the kernel (`alpr_common.migrations.create_outbox_tables`).

Revision ID: d17142520fe9
Revises:
Create Date: 2026-12-05 11:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import alpr_common.db
from alpr_common.migrations import create_outbox_tables, drop_outbox_tables

revision: str = "d17142520fe9"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_outbox_tables(op)
    op.create_table(
        "back_match_job",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column(
            "entry_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "plates",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("since", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("done_at", alpr_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reads_checked", sa.Integer(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_back_match_job")),
    )
    with op.batch_alter_table("back_match_job", schema=None) as batch_op:
        batch_op.create_index(
            "ix_back_match_job_done_at_next_attempt_at",
            ["done_at", "next_attempt_at"],
            unique=False,
        )

    op.create_table(
        "hotlist",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("import_format", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_by_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("updated_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("retired_at", alpr_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hotlist")),
        sa.UniqueConstraint("name", name=op.f("uq_hotlist_name")),
    )
    op.create_table(
        "hotlist_counter",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("value", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_hotlist_counter")),
    )
    op.create_table(
        "inbox_message",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("recipient_role", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("recipient_subject", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("incident_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("alert_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("created_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", alpr_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_message")),
    )
    with op.batch_alter_table("inbox_message", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inbox_message_recipient_role_created_at",
            ["recipient_role", "created_at"],
            unique=False,
        )

    op.create_table(
        "hotlist_import",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("hotlist_id", sa.String(length=32), nullable=False),
        sa.Column("format", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("file_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("file_bytes", sa.Integer(), nullable=False),
        sa.Column("timezone", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("removed", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("held", sa.Integer(), nullable=False),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column(
            "errors",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_by_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["hotlist_id"], ["hotlist.id"], name=op.f("fk_hotlist_import_hotlist_id_hotlist")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hotlist_import")),
    )
    with op.batch_alter_table("hotlist_import", schema=None) as batch_op:
        batch_op.create_index(
            "ix_hotlist_import_hotlist_id_created_at", ["hotlist_id", "created_at"], unique=False
        )

    op.create_table(
        "hotlist_entry",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("hotlist_id", sa.String(length=32), nullable=False),
        sa.Column("plate", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("region", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("entry_type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("offense_class", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("missing_endangered", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("record_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("ori", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("origin", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("manual_reason", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("manual_reason_text", sa.Text(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("held_clause", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("held_reason", sa.Text(), nullable=True),
        sa.Column("import_id", sa.String(length=32), nullable=True),
        sa.Column("import_row", sa.Integer(), nullable=True),
        sa.Column("list_version", sa.Integer(), nullable=False),
        sa.Column("entered_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", alpr_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("entered_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("entered_by_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("entered_by_role", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("created_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("removed_at", alpr_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("removed_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("removal_reason", sa.Text(), nullable=True),
        sa.Column("reviewed_at", alpr_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("fingerprint", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column(
            "raw",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("index_version", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["hotlist_id"], ["hotlist.id"], name=op.f("fk_hotlist_entry_hotlist_id_hotlist")
        ),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["hotlist_import.id"],
            name=op.f("fk_hotlist_entry_import_id_hotlist_import"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hotlist_entry")),
    )
    with op.batch_alter_table("hotlist_entry", schema=None) as batch_op:
        batch_op.create_index(
            "ix_hotlist_entry_hotlist_id_status", ["hotlist_id", "status"], unique=False
        )
        batch_op.create_index("ix_hotlist_entry_import_id", ["import_id"], unique=False)
        batch_op.create_index("ix_hotlist_entry_index_version", ["index_version"], unique=False)
        batch_op.create_index("ix_hotlist_entry_plate", ["plate"], unique=False)
        batch_op.create_index(
            "ix_hotlist_entry_status_index_version", ["status", "index_version"], unique=False
        )

    op.create_table(
        "alert",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("hotlist_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("hotlist_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("entry_plate", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("entry_region", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("entry_type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("entry_source", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("entry_origin", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("entry_record_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("offense_class", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("missing_endangered", sa.Boolean(), nullable=False),
        sa.Column("manual_reason", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("entered_by_role", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("entry_reason", sa.Text(), nullable=False),
        sa.Column("plate", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("region", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("match_type", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column(
            "confusions",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("camera_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("camera_type", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("zip_code", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("sector", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("first_read_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("first_read_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_read_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_count", sa.Integer(), nullable=False),
        sa.Column("origin", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("acknowledged_at", alpr_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column(
            "rtcc_actions",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("dismissed_at", alpr_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("dismissed_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("dismissal_reason", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("investigator_follow_up", sa.Boolean(), nullable=False),
        sa.Column("visual_confirmed_at", alpr_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "visual_confirmed_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True
        ),
        sa.Column("visual_matches", sa.Boolean(), nullable=True),
        sa.Column("ncic_confirmed_at", alpr_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ncic_confirmed_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("ncic_still_valid", sa.Boolean(), nullable=True),
        sa.Column("ncic_reference", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("second_verified_at", alpr_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "second_verified_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True
        ),
        sa.Column("second_matches", sa.Boolean(), nullable=True),
        sa.Column("exigency_waived_at", alpr_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "exigency_waived_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True
        ),
        sa.Column("enforcement_at", alpr_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("enforcement_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("enforcement_action", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("outcome_at", alpr_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("driver_race", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("driver_gender", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("victim_race", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("victim_gender", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("offense", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("updated_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["hotlist_entry.id"], name=op.f("fk_alert_entry_id_hotlist_entry")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert")),
        sa.UniqueConstraint("seq", name=op.f("uq_alert_seq")),
    )
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.create_index("ix_alert_created_at", ["created_at"], unique=False)
        batch_op.create_index(
            "ix_alert_entry_id_camera_id_last_read_at",
            ["entry_id", "camera_id", "last_read_at"],
            unique=False,
        )
        batch_op.create_index("ix_alert_plate", ["plate"], unique=False)
        batch_op.create_index("ix_alert_status_created_at", ["status", "created_at"], unique=False)

    op.create_table(
        "alert_hit",
        sa.Column("read_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("alert_id", sa.String(length=32), nullable=False),
        sa.Column("plate", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("region", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("captured_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("camera_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("match_type", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column(
            "confusions",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("origin", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("matched_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alert.id"], name=op.f("fk_alert_hit_alert_id_alert")
        ),
        sa.PrimaryKeyConstraint("read_id", "entry_id", name=op.f("pk_alert_hit")),
    )
    with op.batch_alter_table("alert_hit", schema=None) as batch_op:
        batch_op.create_index("ix_alert_hit_alert_id", ["alert_id"], unique=False)

    op.create_table(
        "alert_step",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("alert_id", sa.String(length=32), nullable=False),
        sa.Column("step", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("actor_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column(
            "actor_roles",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alert.id"], name=op.f("fk_alert_step_alert_id_alert")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_step")),
    )
    with op.batch_alter_table("alert_step", schema=None) as batch_op:
        batch_op.create_index("ix_alert_step_alert_id_at", ["alert_id", "at"], unique=False)

    op.create_table(
        "wrong_vehicle_incident",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("alert_id", sa.String(length=32), nullable=False),
        sa.Column("cause", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("data_gathered", sa.Text(), nullable=False),
        sa.Column("resulted_in_investigation", sa.Boolean(), nullable=False),
        sa.Column("action_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("shift_ends_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("shift_end_source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("reported_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reported_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("reported_by_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("supervisor", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alert.id"], name=op.f("fk_wrong_vehicle_incident_alert_id_alert")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wrong_vehicle_incident")),
        sa.UniqueConstraint("alert_id", name=op.f("uq_wrong_vehicle_incident_alert_id")),
    )
    # The counters every writer bumps (see models.Counter): they must exist before any write.
    counter = sa.table(
        "hotlist_counter", sa.column("name", sa.String), sa.column("value", sa.BigInteger)
    )
    op.bulk_insert(counter, [{"name": "index", "value": 0}, {"name": "alert", "value": 0}])


def downgrade() -> None:
    op.drop_table("wrong_vehicle_incident")
    with op.batch_alter_table("alert_step", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_step_alert_id_at")

    op.drop_table("alert_step")
    with op.batch_alter_table("alert_hit", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_hit_alert_id")

    op.drop_table("alert_hit")
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_status_created_at")
        batch_op.drop_index("ix_alert_plate")
        batch_op.drop_index("ix_alert_entry_id_camera_id_last_read_at")
        batch_op.drop_index("ix_alert_created_at")

    op.drop_table("alert")
    with op.batch_alter_table("hotlist_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_hotlist_entry_status_index_version")
        batch_op.drop_index("ix_hotlist_entry_plate")
        batch_op.drop_index("ix_hotlist_entry_index_version")
        batch_op.drop_index("ix_hotlist_entry_import_id")
        batch_op.drop_index("ix_hotlist_entry_hotlist_id_status")

    op.drop_table("hotlist_entry")
    with op.batch_alter_table("hotlist_import", schema=None) as batch_op:
        batch_op.drop_index("ix_hotlist_import_hotlist_id_created_at")

    op.drop_table("hotlist_import")
    with op.batch_alter_table("inbox_message", schema=None) as batch_op:
        batch_op.drop_index("ix_inbox_message_recipient_role_created_at")

    op.drop_table("inbox_message")
    op.drop_table("hotlist_counter")
    op.drop_table("hotlist")
    with op.batch_alter_table("back_match_job", schema=None) as batch_op:
        batch_op.drop_index("ix_back_match_job_done_at_next_attempt_at")

    op.drop_table("back_match_job")
    drop_outbox_tables(op)
