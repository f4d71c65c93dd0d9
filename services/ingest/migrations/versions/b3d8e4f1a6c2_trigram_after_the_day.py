"""ingest: the trigram index built once a day has closed, plate btrees for the current day (issue 20)

PostgreSQL only (SQLite keeps its FTS5 table and triggers).

The trigram GIN index the search_index revision put on the partitioned table was kept on every
insert, at about a third of the raw COPY rate. It goes; each closed day partition gets one of its
own, built once (`alpr_ingest.partitions.index_for_search`, run by the purge, the in-process
maintenance and `python -m alpr_ingest search-index`). This revision builds it for the days
already closed. The current day is searched through two btrees, cheap to keep on insert:

- `ix_plate_read_plate_key_captured_at` again, with `text_pattern_ops`, so that a pattern with a
  known start (`PXK7*`, `PX?7342`) is a range of it whatever the database's collation;
- `ix_plate_read_plate_key_reversed`, `reverse(plate_key)`, for a known end (`*7342`).

Revision ID: b3d8e4f1a6c2
Revises: 7c1e5a9d2b40
Create Date: 2026-12-05 17:50:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from alpr_ingest import partitions

revision: str = "b3d8e4f1a6c2"
down_revision: str | None = "7c1e5a9d2b40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEY_INDEX = "ix_plate_read_plate_key_captured_at"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_plate_read_plate_key_trgm")
    op.execute(f"DROP INDEX IF EXISTS {_KEY_INDEX}")
    op.execute(f"CREATE INDEX {_KEY_INDEX} ON plate_read (plate_key text_pattern_ops, captured_at)")
    op.execute(
        "CREATE INDEX ix_plate_read_plate_key_reversed ON plate_read "
        "(reverse(plate_key) text_pattern_ops)"
    )
    # The days already closed, in this transaction (a migration runs before the service does).
    today = datetime.now(UTC).date()
    names = bind.execute(
        sa.text(
            "SELECT c.relname FROM pg_inherits h JOIN pg_class c ON c.oid = h.inhrelid "
            "WHERE h.inhparent = 'plate_read'::regclass"
        )
    ).scalars()
    for name in names:
        day = partitions.partition_day(name)
        if day is not None and day < today:
            op.execute(
                f'CREATE INDEX "{partitions.trigram_index_name(day)}" ON "{name}" '
                "USING gin (plate_key gin_trgm_ops)"
            )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    names = bind.execute(
        sa.text(
            "SELECT c.relname FROM pg_class c WHERE c.relkind = 'i' AND c.relname LIKE :pattern"
        ),
        {"pattern": f"{partitions.PREFIX}%{partitions.TRIGRAM_SUFFIX}"},
    ).scalars()
    for name in list(names):
        op.execute(f'DROP INDEX IF EXISTS "{name}"')
    op.execute("DROP INDEX IF EXISTS ix_plate_read_plate_key_reversed")
    op.execute(f"DROP INDEX IF EXISTS {_KEY_INDEX}")
    op.execute(f"CREATE INDEX {_KEY_INDEX} ON plate_read (plate_key, captured_at)")
    op.execute(
        "CREATE INDEX ix_plate_read_plate_key_trgm ON plate_read USING gin (plate_key gin_trgm_ops)"
    )
