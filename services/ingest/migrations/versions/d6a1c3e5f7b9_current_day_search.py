"""ingest: a BRIN index on capture time, for the current day's middle patterns (issue 20)

PostgreSQL only (SQLite keeps its FTS5 table and triggers).

A pattern known only in its middle (`*XK73*`) cannot use the plate key btrees, and the current
day has no whole trigram index (kept on insert, it costs a third of the raw COPY rate). The
current day now gets one over the reads captured before a mark, rebuilt every quarter hour
(`alpr_ingest.partitions.index_for_search`); the reads after the mark are found through this
BRIN index, which costs next to nothing on insert because reads arrive in capture order.

Revision ID: d6a1c3e5f7b9
Revises: b3d8e4f1a6c2
Create Date: 2026-12-05 20:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from alpr_ingest import partitions

revision: str = "d6a1c3e5f7b9"
down_revision: str | None = "b3d8e4f1a6c2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # 32 pages a range (about 1,000 reads): the scan after the mark reads little more than
    # the reads since; autosummarize: a range is summarised once full, not at the next VACUUM
    # (until then every page of it is read).
    op.execute(
        "CREATE INDEX ix_plate_read_captured_at_brin ON plate_read USING brin (captured_at) "
        "WITH (pages_per_range = 32, autosummarize = on)"
    )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    names = bind.execute(
        sa.text("SELECT relname FROM pg_class WHERE relkind = 'i' AND relname LIKE :pattern"),
        {"pattern": f"{partitions.PREFIX}%{partitions.TRIGRAM_SUFFIX}_to_%"},
    ).scalars()
    for name in list(names):
        op.execute(f'DROP INDEX IF EXISTS "{name}"')
    op.execute("DROP INDEX IF EXISTS ix_plate_read_captured_at_brin")
