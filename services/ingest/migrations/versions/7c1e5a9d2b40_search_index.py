"""ingest: partial-plate index and vehicle attributes as search criteria (issue 20)

PostgreSQL: the `pg_trgm` extension and a trigram GIN index on `plate_read.plate_key`, created on
the partitioned table so every day partition, present and future, carries its own (and a purged
day's index goes with its partition). `pg_trgm` ships with PostgreSQL (contrib) and is a trusted
extension since PostgreSQL 13: the database owner, or any role with CREATE on the database, may
create it. Where it is not permitted, a superuser runs `CREATE EXTENSION pg_trgm;` in the ingest
database once, then this migration is run again.

SQLite: an FTS5 trigram table `plate_read_trigram` holding `^<plate_key>$` for every read under
the read's rowid, kept by triggers on `plate_read` (insert, update of the plate, delete), so a
deleted or purged read leaves the index in the same statement.

Both: the vendor's vehicle words in one vocabulary (`alpr_ingest.vehicles`): `vehicle_make`,
`vehicle_model`, `vehicle_color`, `vehicle_type` on the reads and the hold store, filled for the
reads already stored.

Revision ID: 7c1e5a9d2b40
Revises: 35b54ab3f3cb
Create Date: 2026-12-05 14:20:00.000000
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from alpr_ingest import vehicles

revision: str = "7c1e5a9d2b40"
down_revision: str | None = "35b54ab3f3cb"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    ("vehicle_make", 64),
    ("vehicle_model", 64),
    ("vehicle_color", 16),
    ("vehicle_type", 16),
)
_TABLES = ("plate_read", "held_read")
_NO_TRGM = (
    "the ingest search needs the PostgreSQL extension pg_trgm, and this role may not create it "
    "({error}). Ask a superuser (or the database owner) to run `CREATE EXTENSION pg_trgm;` in "
    "the ingest database, or install the PostgreSQL contrib package if it is missing, then run "
    "the migration again."
)
SQLITE_TRIGGERS = (
    """CREATE TRIGGER plate_read_trigram_ai AFTER INSERT ON plate_read BEGIN
        INSERT INTO plate_read_trigram(rowid, k) VALUES (new.rowid, '^' || new.plate_key || '$');
    END""",
    """CREATE TRIGGER plate_read_trigram_ad AFTER DELETE ON plate_read BEGIN
        DELETE FROM plate_read_trigram WHERE rowid = old.rowid;
    END""",
    """CREATE TRIGGER plate_read_trigram_au AFTER UPDATE OF plate_key ON plate_read BEGIN
        DELETE FROM plate_read_trigram WHERE rowid = old.rowid;
        INSERT INTO plate_read_trigram(rowid, k) VALUES (new.rowid, '^' || new.plate_key || '$');
    END""",
)


def _backfill(bind: sa.Connection, table: str, key: str) -> None:
    rows = bind.execute(
        sa.text(f"SELECT {key}, vehicle FROM {table} WHERE vehicle IS NOT NULL")  # noqa: S608
    ).all()
    for ident, vehicle in rows:
        value = json.loads(vehicle) if isinstance(vehicle, str) else vehicle
        cols = vehicles.columns(value if isinstance(value, dict) else None)
        sets = ", ".join(f"{name} = :{name}" for name in cols)
        bind.execute(
            sa.text(f"UPDATE {table} SET {sets} WHERE {key} = :ident"),  # noqa: S608
            {**cols, "ident": ident},
        )


def upgrade() -> None:
    bind = op.get_bind()
    for table in _TABLES:
        for name, length in _COLUMNS:
            op.add_column(table, sa.Column(name, sa.String(length), nullable=True))
    # Reads stored before this revision: their vendor words through the same vocabulary.
    _backfill(bind, "plate_read", "read_id")
    _backfill(bind, "held_read", "read_id")
    if bind.dialect.name == "postgresql":
        present = bind.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'"))
        if present.first() is None:
            try:
                with bind.begin_nested():
                    bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
            except sa.exc.DBAPIError as exc:
                raise RuntimeError(_NO_TRGM.format(error=str(exc.orig).strip())) from exc
        # On the partitioned table: every partition gets its own, and new ones inherit it.
        op.execute(
            "CREATE INDEX ix_plate_read_plate_key_trgm ON plate_read "
            "USING gin (plate_key gin_trgm_ops)"
        )
    else:
        op.execute(
            "CREATE VIRTUAL TABLE plate_read_trigram USING fts5("
            "k, tokenize = 'trigram case_sensitive 1')"
        )
        for trigger in SQLITE_TRIGGERS:
            op.execute(trigger)
        op.execute(
            "INSERT INTO plate_read_trigram(rowid, k) "
            "SELECT rowid, '^' || plate_key || '$' FROM plate_read"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_plate_read_plate_key_trgm")
    else:
        for suffix in ("ai", "ad", "au"):
            op.execute(f"DROP TRIGGER IF EXISTS plate_read_trigram_{suffix}")
        op.execute("DROP TABLE IF EXISTS plate_read_trigram")
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            for name, _ in reversed(_COLUMNS):
                batch.drop_column(name)
