"""PostgreSQL partitions of the reads table: one per capture day (UTC), named
`plate_read_pYYYYMMDD`, created ahead of time (startup and daily) and on demand for late reads,
dropped whole by the purge (344.4(d))."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

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
