"""sharing: agencies, requests, notices, packages, outcomes, misuse reports, outbox

The first and only revision so far: the history before the first release was squashed into
it. The outbox tables come from the kernel (`alpr_common.migrations.create_outbox_tables`).

Revision ID: 5e1a3c2b9d47
Revises:
Create Date: 2026-12-05 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import alpr_common.db
from alpr_common.migrations import create_outbox_tables, drop_outbox_tables

revision: str = "5e1a3c2b9d47"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_outbox_tables(op)
    op.create_table(
        "agency",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("ori", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("jurisdiction", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("contact_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("contact_email", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("contact_phone", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("updated_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agency")),
        sa.UniqueConstraint("ori", name="uq_agency_ori"),
    )
    op.create_table(
        "agency_status_change",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("agency_id", sa.String(length=32), nullable=False),
        sa.Column("decision", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("misuse_report_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("decided_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("decided_by_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_agency_status_change_agency_id_agency")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agency_status_change")),
    )
    with op.batch_alter_table("agency_status_change", schema=None) as batch_op:
        batch_op.create_index("ix_agency_status_change_agency_id", ["agency_id"], unique=False)

    op.create_table(
        "misuse_report",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("agency_id", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("reported_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reported_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("reported_by_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("decision", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("decided_at", alpr_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_misuse_report_agency_id_agency")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_misuse_report")),
    )
    with op.batch_alter_table("misuse_report", schema=None) as batch_op:
        batch_op.create_index("ix_misuse_report_agency_id", ["agency_id"], unique=False)

    op.create_table(
        "sharing_request",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("agency_id", sa.String(length=32), nullable=True),
        sa.Column("requester_type", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("requester_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("requester_contact", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("client_reference", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("submitted_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column(
            "submitted_by_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False
        ),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("case_number", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("grounds", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("hotlist_entry_id", sa.Integer(), nullable=True),
        sa.Column("offense", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("investigator", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("document_ref", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("issuing_court", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("ordered_scope", sa.Text(), nullable=True),
        sa.Column(
            "plates",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "camera_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("area", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("standing", sa.Boolean(), nullable=False),
        sa.Column("since", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("until", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "fields",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.Column(
            "escalation_reasons",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("escalated_at", alpr_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_at", alpr_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("decided_by_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("hold_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("received_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_sharing_request_agency_id_agency")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sharing_request")),
        sa.UniqueConstraint(
            "submitted_by", "client_reference", name="uq_sharing_request_submitted_by_reference"
        ),
    )
    with op.batch_alter_table("sharing_request", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sharing_request_agency_id_received_at", ["agency_id", "received_at"], unique=False
        )
        batch_op.create_index(
            "ix_sharing_request_status_received_at", ["status", "received_at"], unique=False
        )

    op.create_table(
        "chief_notification",
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column(
            "reasons",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("notified_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", alpr_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["sharing_request.id"],
            name=op.f("fk_chief_notification_request_id_sharing_request"),
        ),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_chief_notification")),
    )
    op.create_table(
        "escalation_notice",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("notified", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("recipient", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("notified_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("method", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("recorded_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("recorded_by_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["sharing_request.id"],
            name=op.f("fk_escalation_notice_request_id_sharing_request"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_notice")),
        sa.UniqueConstraint("request_id", "notified", name="uq_escalation_notice_request_notified"),
    )
    op.create_table(
        "release_package",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("agency_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("read_count", sa.Integer(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("bytes", sa.Integer(), nullable=False),
        sa.Column(
            "manifest",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("file_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("expires_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", alpr_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.Column("download_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["sharing_request.id"],
            name=op.f("fk_release_package_request_id_sharing_request"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_release_package")),
    )
    with op.batch_alter_table("release_package", schema=None) as batch_op:
        batch_op.create_index("ix_release_package_agency_id", ["agency_id"], unique=False)
        batch_op.create_index("ix_release_package_request_id", ["request_id"], unique=False)

    op.create_table(
        "request_outcome",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("recorded_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("recorded_by_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["sharing_request.id"],
            name=op.f("fk_request_outcome_request_id_sharing_request"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_outcome")),
    )
    with op.batch_alter_table("request_outcome", schema=None) as batch_op:
        batch_op.create_index("ix_request_outcome_request_id", ["request_id"], unique=False)

    op.create_table(
        "request_step",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("by_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["sharing_request.id"],
            name=op.f("fk_request_step_request_id_sharing_request"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_step")),
    )
    with op.batch_alter_table("request_step", schema=None) as batch_op:
        batch_op.create_index("ix_request_step_request_id_at", ["request_id", "at"], unique=False)

    op.create_table(
        "package_download",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("package_id", sa.String(length=32), nullable=False),
        sa.Column("downloaded_at", alpr_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("downloaded_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column(
            "downloaded_by_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False
        ),
        sa.Column(
            "purpose",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["package_id"],
            ["release_package.id"],
            name=op.f("fk_package_download_package_id_release_package"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_package_download")),
    )
    with op.batch_alter_table("package_download", schema=None) as batch_op:
        batch_op.create_index("ix_package_download_package_id", ["package_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("package_download", schema=None) as batch_op:
        batch_op.drop_index("ix_package_download_package_id")

    op.drop_table("package_download")
    with op.batch_alter_table("request_step", schema=None) as batch_op:
        batch_op.drop_index("ix_request_step_request_id_at")

    op.drop_table("request_step")
    with op.batch_alter_table("request_outcome", schema=None) as batch_op:
        batch_op.drop_index("ix_request_outcome_request_id")

    op.drop_table("request_outcome")
    with op.batch_alter_table("release_package", schema=None) as batch_op:
        batch_op.drop_index("ix_release_package_request_id")
        batch_op.drop_index("ix_release_package_agency_id")

    op.drop_table("release_package")
    op.drop_table("escalation_notice")
    op.drop_table("chief_notification")
    with op.batch_alter_table("sharing_request", schema=None) as batch_op:
        batch_op.drop_index("ix_sharing_request_status_received_at")
        batch_op.drop_index("ix_sharing_request_agency_id_received_at")

    op.drop_table("sharing_request")
    with op.batch_alter_table("misuse_report", schema=None) as batch_op:
        batch_op.drop_index("ix_misuse_report_agency_id")

    op.drop_table("misuse_report")
    with op.batch_alter_table("agency_status_change", schema=None) as batch_op:
        batch_op.drop_index("ix_agency_status_change_agency_id")

    op.drop_table("agency_status_change")
    op.drop_table("agency")
    drop_outbox_tables(op)
