"""token revocation: a per-user tokens_valid_after, and the signed-out token ids

Revision ID: 3d5e7a91c2b4
Revises: 713759e1257e
Create Date: 2026-12-05 11:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from alpr_common.db import UTCDateTime

revision: str = "3d5e7a91c2b4"
down_revision: str | None = "713759e1257e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("user_account") as batch:
        batch.add_column(sa.Column("tokens_valid_after", UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        "revoked_token",
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("jti"),
    )
    op.create_index(
        "ix_revoked_token_subject_expires_at", "revoked_token", ["subject", "expires_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_revoked_token_subject_expires_at", table_name="revoked_token")
    op.drop_table("revoked_token")
    with op.batch_alter_table("user_account") as batch:
        batch.drop_column("tokens_valid_after")
