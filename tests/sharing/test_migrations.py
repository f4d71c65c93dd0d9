"""The sharing tables as migrated by Alembic are the tables the models declare: autogenerate
finds nothing to do, on SQLite and on PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from alpr_common.migrations import version_table
from alpr_sharing.models import metadata


async def test_migrations_match_the_models(migrated):
    def diff(connection):
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": True, "version_table": version_table("sharing")},
        )
        return compare_metadata(context, metadata)

    async with migrated.engine.connect() as conn:
        changes = await conn.run_sync(diff)
    assert changes == []
