"""audit: an index for the outbox relay's claim (destination, seq)

See `alpr_common.migrations.create_outbox_claim_index`: without it, a claim on PostgreSQL
scanned every row the outbox still held, deleted ones included until autovacuum came by.

Revision ID: 8bec89305edb
Revises: eead37dac900
Create Date: 2026-12-05 23:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

from alpr_common.migrations import create_outbox_claim_index, drop_outbox_claim_index

revision: str = "8bec89305edb"
down_revision: str | None = "eead37dac900"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_outbox_claim_index(op)


def downgrade() -> None:
    drop_outbox_claim_index(op)
