"""ingest: the trigram index on both plate keys; BRIN on capture time for the current day (issue 20)

PostgreSQL only (SQLite keeps its FTS5 table and triggers).

A closed day's trigram index covers the plate as read beside the folded key
(`partitions.TRIGRAM_COLUMNS`): a pattern that is not a look-alike search is then an index
condition on both, instead of visiting every read whose folded key matches (`*1OO0*` folds to
`*1000*`, 200 reads a day at 667,000). This revision builds the closed days' indexes again so.

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

# As `partitions.TRIGRAM_COLUMNS` was when this revision was written.
_COLUMNS = "plate_key gin_trgm_ops, plate gin_trgm_ops"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    # 32 pages a range (about 1,000 reads): the scan after the mark reads little more than
    # the reads since; autosummarize: a range is summarised once full, not at the next VACUUM
    # (until then every page of it is read).
    op.execute(
        "CREATE INDEX ix_plate_read_captured_at_brin ON plate_read USING brin (captured_at) "
        "WITH (pages_per_range = 32, autosummarize = on)"
    )
    # The closed days' indexes, again on both keys (a migration runs before the service does).
    names = bind.execute(
        sa.text("SELECT relname FROM pg_class WHERE relkind = 'i' AND relname LIKE :pattern"),
        {"pattern": f"{partitions.PREFIX}%{partitions.TRIGRAM_SUFFIX}"},
    ).scalars()
    for name in list(names):
        table = name.removesuffix(partitions.TRIGRAM_SUFFIX)
        if partitions.partition_day(table) is None:
            continue
        op.execute(f'DROP INDEX "{name}"')
        op.execute(f'CREATE INDEX "{name}" ON "{table}" USING gin ({_COLUMNS})')


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
    # The closed days' indexes stay as they are: on both keys, they serve the older code too.
