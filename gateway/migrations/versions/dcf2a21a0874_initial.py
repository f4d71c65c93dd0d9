"""gateway: the spool (the outbox that carries each transaction to audit)

The first and only revision so far: the history before the first release was squashed into it.
The gateway keeps no business tables; the outbox tables come from the kernel
(`alpr_common.migrations.create_outbox_tables`).

Revision ID: dcf2a21a0874
Revises:
Create Date: 2026-12-05 11:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

from alpr_common.migrations import create_outbox_tables, drop_outbox_tables

revision: str = "dcf2a21a0874"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_outbox_tables(op)


def downgrade() -> None:
    drop_outbox_tables(op)
