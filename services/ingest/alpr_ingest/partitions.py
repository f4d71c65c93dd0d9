"""PostgreSQL partitions of the reads table: one per capture day (UTC), named
`plate_read_pYYYYMMDD`, created ahead of time (startup and daily) and on demand for late reads,
dropped whole by the purge (344.4(d))."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from alpr_common.db import Database
from alpr_ingest.models import READ_TABLE

PREFIX = f"{READ_TABLE}_p"
_NAME = re.compile(rf"^{PREFIX}(\d{{8}})$")
# pg_advisory_xact_lock key serialising partition DDL between concurrent requests and replicas.
_LOCK_KEY = 0x696E676573740001
_CHILDREN = (
    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "  # noqa: S608
    f"WHERE i.inhparent = '{READ_TABLE}'::regclass"
)


def partition_name(day: date) -> str:
    return f"{PREFIX}{day:%Y%m%d}"


def partition_day(name: str) -> date | None:
    match = _NAME.fullmatch(name)
    if not match:
        return None
    digits = match[1]
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None


def is_postgresql(session: AsyncSession) -> bool:
    return session.bind is not None and session.bind.dialect.name == "postgresql"


async def existing(session: AsyncSession) -> dict[date, str]:
    """The day partitions of the reads table, by day."""
    rows = await session.execute(text(_CHILDREN))
    out: dict[date, str] = {}
    for (name,) in rows:
        day = partition_day(name)
        if day is not None:
            out[day] = name
    return out


async def ensure(
    session: AsyncSession, days: Iterable[date], *, known: set[date] | None = None
) -> list[date]:
    """Create the missing partitions for `days` in the caller's transaction; return them.

    `known`: days this process has already seen with a committed partition, skipped without a
    catalog query, and added to when seen. A partition created here is not added (its
    transaction may yet roll back); the purge drops only days past the retention window, for
    which no read is stored any more."""
    wanted = set(days)
    if known is not None:
        wanted -= known
    if not wanted:
        return []
    present = set(await existing(session))
    if known is not None:
        known |= wanted & present
    missing = wanted - present
    if not missing:
        return []
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    created = []
    for day in sorted(missing - set(await existing(session))):
        start, end = day, day + timedelta(days=1)
        # Names and bounds come from a date, never from input text.
        await session.execute(
            text(
                f'CREATE TABLE IF NOT EXISTS "{partition_name(day)}" PARTITION OF {READ_TABLE} '
                f"FOR VALUES FROM ('{start.isoformat()} 00:00:00+00') "
                f"TO ('{end.isoformat()} 00:00:00+00')"
            )
        )
        created.append(day)
    return created


async def ensure_window(
    session: AsyncSession, *, today: date, back_days: int, ahead_days: int
) -> list[date]:
    """Partitions for the whole retention window and `ahead_days` into the future."""
    days = [today + timedelta(days=d) for d in range(-back_days, ahead_days + 1)]
    return await ensure(session, days)


async def estimated_rows(session: AsyncSession, name: str) -> int | None:
    """The planner's row estimate (no scan: the purge must not cost more for bigger days)."""
    value = (
        await session.execute(
            text("SELECT reltuples::bigint FROM pg_class WHERE relname = :name"), {"name": name}
        )
    ).scalar_one_or_none()
    return int(value) if value is not None and value >= 0 else None


DETACHED_PREFIX = f"purged_{PREFIX}"
_DETACHED = (
    "SELECT relname FROM pg_class WHERE relkind = 'r' "  # noqa: S608 (constant name)
    f"AND relname LIKE '{DETACHED_PREFIX}%'"
)


async def detach(session: AsyncSession, name: str) -> str:
    """Take a day out of the reads table at once (a catalog change, whatever its size) and
    rename it for `drop_detached`: the file removal, which does grow with the day's size, then
    runs in its own transaction without holding a lock on the reads table."""
    day = partition_day(name)
    if day is None:
        raise ValueError(f"{name!r} is not a reads partition")
    detached = f"{DETACHED_PREFIX}{day:%Y%m%d}"
    await session.execute(text(f'DROP TABLE IF EXISTS "{detached}"'))
    await session.execute(text(f'ALTER TABLE {READ_TABLE} DETACH PARTITION "{name}"'))
    await session.execute(text(f'ALTER TABLE "{name}" RENAME TO "{detached}"'))
    return detached


async def drop_detached(session: AsyncSession) -> list[str]:
    """Drop the days `detach` took out (also any left by an interrupted purge)."""
    names = [n for (n,) in await session.execute(text(_DETACHED))]
    for name in names:
        if not name.startswith(DETACHED_PREFIX) or partition_day(name[len("purged_") :]) is None:
            continue
        await session.execute(text(f'DROP TABLE IF EXISTS "{name}"'))
    return names


# --- the partial-plate index, built once a day has closed -----------------------------------

TRIGRAM_SUFFIX = "_trgm"
# pg_advisory_lock key: one process (of every replica and CronJob) builds the indexes at a time.
_INDEX_LOCK_KEY = 0x696E676573740002
_UNINDEXED = (
    "SELECT c.relname, ix.indisvalid FROM pg_inherits h "  # noqa: S608 (constant names)
    "JOIN pg_class c ON c.oid = h.inhrelid "
    "LEFT JOIN pg_class ic ON ic.relname = c.relname || :suffix "
    "LEFT JOIN pg_index ix ON ix.indexrelid = ic.oid "
    f"WHERE h.inhparent = '{READ_TABLE}'::regclass AND ix.indisvalid IS NOT TRUE"
)


def trigram_index_name(day: date) -> str:
    return f"{partition_name(day)}{TRIGRAM_SUFFIX}"


async def index_closed_days(db: Database, *, today: date) -> list[date]:
    """Build the trigram GIN index (partial plates: `PXK7*`, `*7342`, `PX?7342`) of every day
    partition before `today` that holds reads and has none yet; return the days indexed.

    Kept on every insert, that index costs PostgreSQL about a third of the raw COPY rate (issue
    20); built once over a closed day it costs a fraction of that, off the ingest path. The
    current day, and a late read's closed day until this runs again, are searched through the
    plate btrees (prefix and, reversed, suffix) and, for a middle pattern, a scan of that day
    alone. Each index is built CONCURRENTLY (late reads keep arriving in the day meanwhile); one
    left invalid by an interrupted build is dropped and built again. An advisory lock keeps the
    replicas and the CronJob from building the same index twice."""
    if db.bound:  # a test's transaction: no CONCURRENTLY inside it
        async with db.sessionmaker() as session:
            built = await _index_closed_days(await session.connection(), today, concurrently="")
            await session.commit()
            return built
    async with db.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        # A GIN build sorts its keys in this memory (the server's default is 64 MB).
        await conn.execute(text("SET maintenance_work_mem = '256MB'"))
        return await _index_closed_days(conn, today, concurrently="CONCURRENTLY ")


async def _index_closed_days(
    conn: AsyncConnection, today: date, *, concurrently: str
) -> list[date]:
    built: list[date] = []
    locked = await conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": _INDEX_LOCK_KEY})
    if not locked:
        return built
    try:
        rows = await conn.execute(text(_UNINDEXED), {"suffix": TRIGRAM_SUFFIX})
        todo = sorted(
            (day, valid)
            for name, valid in rows
            if (day := partition_day(name)) is not None and day < today
        )
        for day, valid in todo:
            # Names come from a date, never from input text.
            index, table = trigram_index_name(day), partition_name(day)
            # An empty day needs none yet: a late read makes it due at the next run.
            held = text(f'SELECT EXISTS (SELECT 1 FROM "{table}")')  # noqa: S608 (a date)
            if not await conn.scalar(held):
                continue
            if valid is False:
                await conn.execute(text(f'DROP INDEX {concurrently}IF EXISTS "{index}"'))
            await conn.execute(
                text(
                    f'CREATE INDEX {concurrently}IF NOT EXISTS "{index}" ON "{table}" '
                    "USING gin (plate_key gin_trgm_ops)"
                )
            )
            built.append(day)
    finally:
        await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _INDEX_LOCK_KEY})
    return built
