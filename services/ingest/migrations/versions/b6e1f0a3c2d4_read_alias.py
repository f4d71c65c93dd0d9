"""ingest: read aliases (the vendor messages a stored read merged, issue 17)

Revision ID: b6e1f0a3c2d4
Revises: 519c85460e4d
Create Date: 2026-12-05 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import alpr_common.db

revision: str = "b6e1f0a3c2d4"
down_revision: str | None = "519c85460e4d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
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
