"""ingest: an index for the outbox relay's claim (destination, seq)

See `alpr_common.migrations.create_outbox_claim_index`: without it, a claim on PostgreSQL
scanned every row the outbox still held, deleted ones included until autovacuum came by.

Revision ID: 1de4d23c41e9
Revises: d6a1c3e5f7b9
Create Date: 2026-12-05 23:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

from alpr_common.migrations import create_outbox_claim_index, drop_outbox_claim_index

revision: str = "1de4d23c41e9"
down_revision: str | None = "d6a1c3e5f7b9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_outbox_claim_index(op)


def downgrade() -> None:
    drop_outbox_claim_index(op)
