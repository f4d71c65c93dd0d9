"""audit: transaction log, chain head, review samples, misuse allegations, report facts, outbox

The first and only revision so far: the history before the first release was squashed into
it. The outbox tables come from the kernel (`alpr_common.migrations.create_outbox_tables`).

log_entry is append-only: triggers refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL), so only
someone who first removes them can change the log, and verification still catches that. On SQLite,
a later batch migration that rebuilds log_entry drops its triggers: recreate them there.

Revision ID: eead37dac900
Revises:
Create Date: 2026-12-05 13:20:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import alpr_common.db
from alpr_common.migrations import create_outbox_tables, drop_outbox_tables

revision: str = "eead37dac900"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_outbox_tables(op)
    op.create_table(
        "chain_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("updated_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_chain_head_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chain_head")),
    )
    op.create_table(
        "log_entry",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=True),
        sa.Column("occurred_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("flags", sa.String(length=1000), nullable=True),
        sa.Column("problem", sa.Text(), nullable=True),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_log_entry")),
        sa.UniqueConstraint("event_id", name=op.f("uq_log_entry_event_id")),
    )
    with op.batch_alter_table("log_entry", schema=None) as batch_op:
        batch_op.create_index("ix_log_entry_occurred_at", ["occurred_at"], unique=False)
        batch_op.create_index("ix_log_entry_request_id", ["request_id"], unique=False)
        batch_op.create_index("ix_log_entry_source", ["source"], unique=False)
        batch_op.create_index("ix_log_entry_subject_seq", ["subject", "seq"], unique=False)
        batch_op.create_index("ix_log_entry_type_seq", ["type", "seq"], unique=False)

    op.create_table(
        "population_import",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column(
            "columns",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("imported_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_population_import")),
        sa.UniqueConstraint("sha256", name=op.f("uq_population_import_sha256")),
    )
    op.create_table(
        "review_sample",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("period_start", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("period_end", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("population_size", sa.Integer(), nullable=False),
        sa.Column("sample_size", sa.Integer(), nullable=False),
        sa.Column("population_digest", sa.String(length=64), nullable=False),
        sa.Column("algorithm", sa.String(length=200), nullable=False),
        sa.Column("created_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_sample")),
        sa.UniqueConstraint(
            "period_start", "period_end", name=op.f("uq_review_sample_period_start_period_end")
        ),
    )
    op.create_table(
        "population_area",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.String(length=32), nullable=False),
        sa.Column("area_type", sa.String(length=16), nullable=False),
        sa.Column("area", sa.String(length=64), nullable=False),
        sa.Column("population", sa.BigInteger(), nullable=False),
        sa.Column(
            "demographics",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["population_import.id"],
            name=op.f("fk_population_area_import_id_population_import"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_population_area")),
        sa.UniqueConstraint(
            "import_id",
            "area_type",
            "area",
            name=op.f("uq_population_area_import_id_area_type_area"),
        ),
    )
    op.create_table(
        "review_item",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("sample_id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("log_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("occurred_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("purpose", sa.String(length=100), nullable=True),
        sa.Column("case_number", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("path", sa.String(length=1000), nullable=True),
        sa.Column("reviewer", sa.String(length=200), nullable=True),
        sa.Column("assigned_at", alpr_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("assigned_by", sa.String(length=200), nullable=True),
        sa.Column("finding", sa.String(length=16), nullable=True),
        sa.Column("finding_reason", sa.Text(), nullable=True),
        sa.Column("criminal_predicate", sa.Boolean(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("reviewed_at", alpr_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by", sa.String(length=200), nullable=True),
        sa.Column("allegation_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["sample_id"], ["review_sample.id"], name=op.f("fk_review_item_sample_id_review_sample")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_item")),
        sa.UniqueConstraint(
            "sample_id", "position", name=op.f("uq_review_item_sample_id_position")
        ),
    )
    with op.batch_alter_table("review_item", schema=None) as batch_op:
        batch_op.create_index("ix_review_item_reviewer", ["reviewer"], unique=False)

    op.create_table(
        "misuse_allegation",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("review_item_id", sa.String(length=32), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("alleged_subject", sa.String(length=200), nullable=True),
        sa.Column("log_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("reported_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reported_by", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("assignee", sa.String(length=200), nullable=True),
        sa.Column("assigned_at", alpr_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("go902_case", sa.String(length=64), nullable=True),
        sa.Column("finding", sa.String(length=32), nullable=True),
        sa.Column("finding_notes", sa.Text(), nullable=True),
        sa.Column("access_consequence", sa.String(length=32), nullable=True),
        sa.Column("closed_at", alpr_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=200), nullable=True),
        sa.Column("updated_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["review_item_id"],
            ["review_item.id"],
            name=op.f("fk_misuse_allegation_review_item_id_review_item"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_misuse_allegation")),
        sa.UniqueConstraint("review_item_id", name=op.f("uq_misuse_allegation_review_item_id")),
    )
    with op.batch_alter_table("misuse_allegation", schema=None) as batch_op:
        batch_op.create_index("ix_misuse_allegation_reported_at", ["reported_at"], unique=False)

    op.create_table(
        "alert_fact",
        sa.Column("alert_id", sa.String(length=64), nullable=False),
        sa.Column("hotlist_id", sa.String(length=64), nullable=False),
        sa.Column("hotlist_name", sa.String(length=200), nullable=False),
        sa.Column("entry_type", sa.String(length=32), nullable=False),
        sa.Column("entry_origin", sa.String(length=16), nullable=False),
        sa.Column("manual_reason", sa.String(length=64), nullable=True),
        sa.Column("entered_by_role", sa.String(length=64), nullable=False),
        sa.Column("missing_endangered", sa.Boolean(), nullable=False),
        sa.Column("camera_id", sa.String(length=128), nullable=False),
        sa.Column("camera_type", sa.String(length=32), nullable=False),
        sa.Column("zip_code", sa.String(length=16), nullable=False),
        sa.Column("sector", sa.String(length=64), nullable=False),
        sa.Column("matched_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("visual_matches", sa.Boolean(), nullable=True),
        sa.Column("ncic_valid", sa.Boolean(), nullable=True),
        sa.Column("confirmed_at", alpr_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("not_correlated_at", alpr_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("not_correlated_why", sa.String(length=64), nullable=True),
        sa.Column("enforcement_action", sa.String(length=32), nullable=True),
        sa.Column("detention", sa.Boolean(), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("outcome_at", alpr_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("offense", sa.String(length=200), nullable=True),
        sa.Column("driver_race", sa.String(length=64), nullable=True),
        sa.Column("driver_gender", sa.String(length=32), nullable=True),
        sa.Column("victim_race", sa.String(length=64), nullable=True),
        sa.Column("victim_gender", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("alert_id", name=op.f("pk_alert_fact")),
    )
    with op.batch_alter_table("alert_fact", schema=None) as batch_op:
        batch_op.create_index("ix_alert_fact_matched_at", ["matched_at"], unique=False)
        batch_op.create_index("ix_alert_fact_outcome_at", ["outcome_at"], unique=False)

    op.create_table(
        "camera_fact",
        sa.Column("camera_id", sa.String(length=128), nullable=False),
        sa.Column("camera_type", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("zip_code", sa.String(length=16), nullable=False),
        sa.Column("sector", sa.String(length=64), nullable=False),
        sa.Column("updated_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("camera_id", name=op.f("pk_camera_fact")),
    )
    op.create_table(
        "config_setting",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("reported_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_config_setting")),
    )
    op.create_table(
        "daily_count",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("metric", sa.String(length=32), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "metric", name=op.f("pk_daily_count")),
    )
    op.create_table(
        "hold_fact",
        sa.Column("hold_id", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("read_count", sa.BigInteger(), nullable=False),
        sa.Column("created_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("hold_id", name=op.f("pk_hold_fact")),
    )
    with op.batch_alter_table("hold_fact", schema=None) as batch_op:
        batch_op.create_index("ix_hold_fact_created_at", ["created_at"], unique=False)

    op.create_table(
        "hotlist_fact",
        sa.Column("hotlist_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("updated_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("hotlist_id", name=op.f("pk_hotlist_fact")),
    )
    op.create_table(
        "incident_fact",
        sa.Column("incident_id", sa.String(length=64), nullable=False),
        sa.Column("alert_id", sa.String(length=64), nullable=False),
        sa.Column("hotlist_name", sa.String(length=200), nullable=False),
        sa.Column("cause", sa.String(length=32), nullable=False),
        sa.Column("resulted_in_investigation", sa.Boolean(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("enforcement_action", sa.String(length=32), nullable=True),
        sa.Column("data_gathered", sa.Text(), nullable=False),
        sa.Column("camera_type", sa.String(length=32), nullable=False),
        sa.Column("zip_code", sa.String(length=16), nullable=False),
        sa.Column("sector", sa.String(length=64), nullable=False),
        sa.Column("reported_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("incident_id", name=op.f("pk_incident_fact")),
    )
    with op.batch_alter_table("incident_fact", schema=None) as batch_op:
        batch_op.create_index("ix_incident_fact_reported_at", ["reported_at"], unique=False)

    op.create_table(
        "manual_entry_fact",
        sa.Column(
            "entry_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("hotlist_id", sa.String(length=64), nullable=False),
        sa.Column("entry_type", sa.String(length=32), nullable=True),
        sa.Column("manual_reason", sa.String(length=64), nullable=False),
        sa.Column("entered_by_role", sa.String(length=64), nullable=False),
        sa.Column("entered_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_manual_entry_fact")),
    )
    with op.batch_alter_table("manual_entry_fact", schema=None) as batch_op:
        batch_op.create_index("ix_manual_entry_fact_entered_at", ["entered_at"], unique=False)

    op.create_table(
        "policy_change",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("recorded_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_by_name", sa.String(length=200), nullable=True),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("setting", sa.String(length=100), nullable=True),
        sa.Column("old_value", sa.String(length=200), nullable=True),
        sa.Column("new_value", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_change")),
    )
    with op.batch_alter_table("policy_change", schema=None) as batch_op:
        batch_op.create_index("ix_policy_change_recorded_at", ["recorded_at"], unique=False)

    op.create_table(
        "scan_count",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("camera_id", sa.String(length=128), nullable=False),
        sa.Column("camera_type", sa.String(length=32), nullable=False),
        sa.Column("zip_code", sa.String(length=16), nullable=False),
        sa.Column("sector", sa.String(length=64), nullable=False),
        sa.Column("reads", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scan_count")),
        sa.UniqueConstraint(
            "day",
            "camera_id",
            "camera_type",
            "zip_code",
            "sector",
            name=op.f("uq_scan_count_day_camera_id_camera_type_zip_code_sector"),
        ),
    )
    op.create_table(
        "sharing_fact",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("requester_type", sa.String(length=32), nullable=False),
        sa.Column("agency", sa.String(length=200), nullable=False),
        sa.Column("decision", sa.String(length=32), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_sharing_fact")),
    )
    with op.batch_alter_table("sharing_fact", schema=None) as batch_op:
        batch_op.create_index("ix_sharing_fact_step_at", ["step", "at"], unique=False)

    # The genesis head: no entries yet, and the first entry's prev_hash is 64 zeros.
    head = sa.table(
        "chain_head",
        sa.column("id", sa.Integer()),
        sa.column("seq", sa.BigInteger()),
        sa.column("hash", sa.String()),
        sa.column("updated_at", alpr_common.db.UTCDateTime()),
    )
    op.bulk_insert(
        head,
        [{"id": 1, "seq": 0, "hash": "0" * 64, "updated_at": datetime(1970, 1, 1, tzinfo=UTC)}],
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION log_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'log_entry is append-only (GO 344.4(d)): % refused', TG_OP; "
            "END $$"
        )
        op.execute(
            "CREATE TRIGGER log_entry_append_only BEFORE UPDATE OR DELETE ON log_entry "
            "FOR EACH ROW EXECUTE FUNCTION log_entry_append_only()"
        )
        op.execute(
            "CREATE TRIGGER log_entry_no_truncate BEFORE TRUNCATE ON log_entry "
            "FOR EACH STATEMENT EXECUTE FUNCTION log_entry_append_only()"
        )
    else:
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER log_entry_no_{operation.lower()} BEFORE {operation} ON log_entry "
                "BEGIN SELECT RAISE(ABORT, 'log_entry is append-only (GO 344.4(d))'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER log_entry_no_truncate ON log_entry")
        op.execute("DROP TRIGGER log_entry_append_only ON log_entry")
        op.execute("DROP FUNCTION log_entry_append_only()")
    else:
        op.execute("DROP TRIGGER log_entry_no_update")
        op.execute("DROP TRIGGER log_entry_no_delete")
    with op.batch_alter_table("sharing_fact", schema=None) as batch_op:
        batch_op.drop_index("ix_sharing_fact_step_at")

    op.drop_table("sharing_fact")
    op.drop_table("scan_count")
    with op.batch_alter_table("policy_change", schema=None) as batch_op:
        batch_op.drop_index("ix_policy_change_recorded_at")

    op.drop_table("policy_change")
    with op.batch_alter_table("manual_entry_fact", schema=None) as batch_op:
        batch_op.drop_index("ix_manual_entry_fact_entered_at")

    op.drop_table("manual_entry_fact")
    with op.batch_alter_table("incident_fact", schema=None) as batch_op:
        batch_op.drop_index("ix_incident_fact_reported_at")

    op.drop_table("incident_fact")
    op.drop_table("hotlist_fact")
    with op.batch_alter_table("hold_fact", schema=None) as batch_op:
        batch_op.drop_index("ix_hold_fact_created_at")

    op.drop_table("hold_fact")
    op.drop_table("daily_count")
    op.drop_table("config_setting")
    op.drop_table("camera_fact")
    with op.batch_alter_table("alert_fact", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_fact_outcome_at")
        batch_op.drop_index("ix_alert_fact_matched_at")

    op.drop_table("alert_fact")

    with op.batch_alter_table("misuse_allegation", schema=None) as batch_op:
        batch_op.drop_index("ix_misuse_allegation_reported_at")

    op.drop_table("misuse_allegation")
    with op.batch_alter_table("review_item", schema=None) as batch_op:
        batch_op.drop_index("ix_review_item_reviewer")

    op.drop_table("review_item")
    op.drop_table("population_area")
    op.drop_table("review_sample")
    op.drop_table("population_import")

    with op.batch_alter_table("log_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_log_entry_type_seq")
        batch_op.drop_index("ix_log_entry_subject_seq")
        batch_op.drop_index("ix_log_entry_source")
        batch_op.drop_index("ix_log_entry_request_id")
        batch_op.drop_index("ix_log_entry_occurred_at")

    op.drop_table("log_entry")
    op.drop_table("chain_head")
    drop_outbox_tables(op)
