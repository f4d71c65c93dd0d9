"""Alembic, one migration history per service. Each service's `migrations/env.py` is two lines
that call `run_env`; `upgrade` runs them from code (CLI, tests, Kubernetes Job)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command, context
from alembic.config import Config
from alembic.operations import Operations
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

from alpr_common.db import UTCDateTime, create_engine, normalize_url


def version_table(service: str) -> str:
    # Per service, so services may share one database (schema-per-service) without clashing.
    return f"alembic_version_{service}"


def unmodelled_tables(metadata: MetaData, dialect: str) -> frozenset[str]:
    """Tables a service's migrations make on `dialect` that no model can describe (an SQLite
    FTS5 table and its shadow tables), declared in `metadata.info["unmodelled_tables"]`."""
    declared: dict[str, frozenset[str]] = metadata.info.get("unmodelled_tables", {})
    return declared.get(dialect, frozenset())


def include_object(metadata: MetaData, dialect: str) -> Callable[..., bool]:
    """Autogenerate's view of the schema on `dialect`: an index the model builds only on another
    dialect (`Index(...).ddl_if(dialect=...)`) is not missing, and a declared unmodelled table
    is not extra."""
    skipped = unmodelled_tables(metadata, dialect)

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        if type_ == "table" and reflected and name in skipped:
            return False
        condition = getattr(obj, "_ddl_if", None)
        return not (type_ == "index" and condition is not None and condition.dialect != dialect)

    return include


def _configure(connection: Connection, metadata: MetaData, service: str) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=version_table(service),
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_object(metadata, connection.dialect.name),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_env(metadata: MetaData, *, service: str) -> None:
    """Body of every service's migrations/env.py."""
    config = context.config
    connection: Connection | None = config.attributes.get("connection")
    if connection is not None:
        _configure(connection, metadata, service)
        return
    url = normalize_url(config.get_main_option("sqlalchemy.url") or "")
    if context.is_offline_mode():
        context.configure(
            url=url,
            target_metadata=metadata,
            version_table=version_table(service),
            literal_binds=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        return

    async def online() -> None:
        engine = create_engine(url)
        async with engine.begin() as conn:
            await conn.run_sync(_configure, metadata, service)
        await engine.dispose()

    asyncio.run(online())


def alembic_config(migrations_dir: Path, url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def ensure_sqlite_dir(url: str) -> None:
    url = normalize_url(url)
    if url.startswith("sqlite") and ":memory:" not in url:
        Path(url.split(":///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)


async def upgrade(migrations_dir: Path, url: str, revision: str = "head") -> None:
    """Upgrade a database to `revision` from inside a running event loop."""
    ensure_sqlite_dir(url)
    await _alembic(command.upgrade, migrations_dir, url, revision)


async def downgrade(migrations_dir: Path, url: str, revision: str) -> None:
    """Downgrade a database to `revision` from inside a running event loop."""
    await _alembic(command.downgrade, migrations_dir, url, revision)


async def _alembic(
    step: Callable[[Config, str], None], migrations_dir: Path, url: str, revision: str
) -> None:
    engine = create_engine(url)
    cfg = alembic_config(migrations_dir, url)

    def run(conn: Connection, **_: Any) -> None:
        cfg.attributes["connection"] = conn
        step(cfg, revision)

    try:
        async with engine.begin() as conn:
            await conn.run_sync(run)
    finally:
        await engine.dispose()


# --- migration steps every service shares ---------------------------------------------------
# Each service's history calls these from a revision of its own; like any migration, a step is
# never changed once released (add a new one instead).


def create_outbox_tables(op: Operations) -> None:
    """Create the outbox and processed-event tables of `alpr_common.outbox.outbox_tables`, as
    they are today: pending events only, the envelope stored as the JSON text that is sent.
    Called by every service's initial revision."""
    op.create_table(
        "outbox_event",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("destination", sa.String(length=32), nullable=False),
        sa.Column("envelope", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_outbox_event")),
    )
    op.create_index("ix_outbox_event_next_attempt_at", "outbox_event", ["next_attempt_at"])
    # The same event may go to several consumers, each once.
    op.create_index(
        "uq_outbox_event_event_id_destination",
        "outbox_event",
        ["event_id", "destination"],
        unique=True,
    )
    if op.get_bind().dialect.name == "postgresql":
        # Stored as sent and deleted within moments: not worth compressing.
        op.execute("ALTER TABLE outbox_event ALTER COLUMN envelope SET STORAGE EXTERNAL")
    op.create_table(
        "processed_event",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("processed_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_processed_event")),
    )


def create_outbox_claim_index(op: Operations) -> None:
    """Index the outbox for the relay's claim, which takes a destination's oldest due events
    (`OutboxRelay._claim`): (destination, seq) lets it walk them in order and stop at its batch.

    The index on `next_attempt_at` goes: PostgreSQL combined it into a bitmap scan of every row
    the table still held, the deleted ones too until autovacuum came by (once a minute at
    most), so at a few hundred events a second a claim grew from well under a millisecond to
    5-15 ms within the minute, in every service's outbox. The claim now runs as an index scan
    (`alpr_common.relay.CLAIM_PLAN`), which skips deleted rows once it has passed them (their
    entries are marked dead); a bitmap scan visits them every time. The relay's poll for due
    destinations now reads the table itself, which holds only the events not yet delivered.
    Called by each service's revision after its initial one."""
    op.create_index("ix_outbox_event_destination_seq", "outbox_event", ["destination", "seq"])
    op.drop_index("ix_outbox_event_next_attempt_at", table_name="outbox_event")


def drop_outbox_claim_index(op: Operations) -> None:
    """Reverse `create_outbox_claim_index`."""
    op.create_index("ix_outbox_event_next_attempt_at", "outbox_event", ["next_attempt_at"])
    op.drop_index("ix_outbox_event_destination_seq", table_name="outbox_event")


def drop_outbox_tables(op: Operations) -> None:
    """Reverse `create_outbox_tables`."""
    op.drop_table("processed_event")
    op.drop_index("uq_outbox_event_event_id_destination", table_name="outbox_event")
    op.drop_index("ix_outbox_event_next_attempt_at", table_name="outbox_event")
    op.drop_table("outbox_event")
