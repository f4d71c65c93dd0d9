"""Each service's migrations build exactly the schema its models describe: on a fresh database
(SQLite and PostgreSQL), upgrade to head, then Alembic's autogenerate comparison against the
service's metadata finds nothing to add, drop or change (tables, columns, types, nullability,
server defaults, indexes, unique and foreign keys).

Nothing is left out of the comparison but what a model cannot hold: ingest's daily partitions
of `plate_read` are made by the service at run time (`alpr_ingest.partitions`), never by a
migration, so a fresh database has none (the partitioned parent itself is in the model,
`postgresql_partition_by`); ingest's SQLite FTS5 table for partial plates is declared in its
metadata as unmodelled, and an index a model builds on one dialect only (`ddl_if`) is compared
on that dialect (`alpr_common.migrations.include_object`, which the services' env.py use too).
What autogenerate does not compare at all is checked here directly on PostgreSQL: the outbox
envelope's storage, and that `plate_read` is partitioned. Then every history reverses to an
empty database.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, inspect, text
from sqlalchemy.engine import Connection

from alpr_common.app import ServiceSpec
from alpr_common.db import create_engine
from alpr_common.migrations import (
    downgrade,
    include_object,
    unmodelled_tables,
    upgrade,
    version_table,
)

SERVICES = {
    "access": "alpr_access.main",
    "audit": "alpr_audit.main",
    "hotlist": "alpr_hotlist.main",
    "ingest": "alpr_ingest.main",
    "sharing": "alpr_sharing.main",
    "gateway": "alpr_gateway.main",
}


def _spec(service: str) -> ServiceSpec:
    spec: ServiceSpec = importlib.import_module(SERVICES[service]).SPEC
    return spec


def _differences(conn: Connection, service: str, metadata: MetaData) -> list[Any]:
    context = MigrationContext.configure(
        conn,
        opts={
            "compare_type": True,
            "compare_server_default": True,
            "version_table": version_table(service),
            "include_object": include_object(metadata, conn.dialect.name),
        },
    )
    return list(compare_metadata(context, metadata))


def _tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


async def _pg_facts(conn: Any) -> dict[str, str]:
    rows = await conn.execute(
        text(
            "SELECT c.relname, c.relkind::text AS relkind, a.attstorage::text AS storage "
            "FROM pg_class c LEFT JOIN pg_attribute a ON a.attrelid = c.oid "
            "AND a.attname = 'envelope' WHERE c.relname IN ('outbox_event', 'plate_read')"
        )
    )
    return {r.relname: r.storage if r.relname == "outbox_event" else r.relkind for r in rows}


@pytest.mark.parametrize("service", sorted(SERVICES))
async def test_migrations_match_the_models(service, db_backend, database_factory):
    spec = _spec(service)
    url = await database_factory._create(f"{service}_schema", db_backend)
    await upgrade(spec.migrations_dir, url)
    engine = create_engine(url, pooled=False)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_differences, service, spec.metadata) == []
            unmodelled = unmodelled_tables(spec.metadata, db_backend)
            assert await conn.run_sync(_tables) == {
                *spec.metadata.tables,
                version_table(service),
                *unmodelled,
            }
            if db_backend == "postgresql":
                facts = await _pg_facts(conn)
                # The outbox holds the JSON text sent, deleted within moments: not compressed.
                assert facts["outbox_event"] == "e"
                if service == "ingest":
                    # 344.4(d): reads live in daily partitions the purge drops whole.
                    assert facts["plate_read"] == "p"

        await downgrade(spec.migrations_dir, url, "base")
        async with engine.connect() as conn:
            assert await conn.run_sync(_tables) == {version_table(service)}
    finally:
        await engine.dispose()
