"""PostgreSQL partitions of the reads table: one per capture day (UTC), named
`plate_read_pYYYYMMDD`, created ahead of time (startup and daily) and on demand for late reads,
dropped whole by the purge (344.4(d))."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

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


async def existing(session: AsyncSession) -> dict[date, str]:
    """The day partitions of the reads table, by day."""
    rows = await session.execute(text(_CHILDREN))
    out: dict[date, str] = {}
    for (name,) in rows:
        day = partition_day(name)
        if day is not None:
            out[day] = name
    return out


def create_sql(day: date) -> str:
    """The DDL of `day`'s partition, if it is missing. Its name and bounds come from a date,
    never from input text."""
    start, end = day, day + timedelta(days=1)
    return (
        f'CREATE TABLE IF NOT EXISTS "{partition_name(day)}" PARTITION OF {READ_TABLE} '
        f"FOR VALUES FROM ('{start.isoformat()} 00:00:00+00') "
        f"TO ('{end.isoformat()} 00:00:00+00')"
    )


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
        await session.execute(text(create_sql(day)))
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


# --- the partial-plate index: each closed day whole, the current day up to a mark -----------

TRIGRAM_SUFFIX = "_trgm"
# Both keys of a read: the folded one (look-alike patterns) and the plate as read, so that a
# pattern that is not a look-alike search is an index condition on both. On the folded key
# alone, a pattern rich in folded characters (`*1OO0*` is `*1000*`) visits every read whose
# folded key matches, 200 a day at 667,000 reads, to keep the few whose plate does.
TRIGRAM_COLUMNS = "plate_key gin_trgm_ops, plate gin_trgm_ops"
# The current day's index covers the reads captured before a mark, a multiple of this step; a
# run of `index_for_search` within the same step finds it built and does nothing.
CURRENT_DAY_STEP = timedelta(minutes=15)
_UNTIL_SUFFIX = "_to_"
_UNTIL = re.compile(rf"^{PREFIX}(\d{{8}}){TRIGRAM_SUFFIX}{_UNTIL_SUFFIX}(\d{{4}})$")
# pg_advisory_lock key: one process (of every replica and CronJob) builds the indexes at a time.
_INDEX_LOCK_KEY = 0x696E676573740002
_UNINDEXED = (
    "SELECT c.relname, ix.indisvalid FROM pg_inherits h "  # noqa: S608 (constant names)
    "JOIN pg_class c ON c.oid = h.inhrelid "
    "LEFT JOIN pg_class ic ON ic.relname = c.relname || :suffix "
    "LEFT JOIN pg_index ix ON ix.indexrelid = ic.oid "
    f"WHERE h.inhparent = '{READ_TABLE}'::regclass AND ix.indisvalid IS NOT TRUE"
)
# The current-day indexes, valid or not (an interrupted build leaves an invalid one).
_UNTIL_INDEXES = (
    "SELECT c.relname, ix.indisvalid FROM pg_class c "  # noqa: S608 (constant names)
    "JOIN pg_index ix ON ix.indexrelid = c.oid "
    f"WHERE c.relkind = 'i' AND c.relname LIKE '{PREFIX}%{TRIGRAM_SUFFIX}{_UNTIL_SUFFIX}%'"
)

# The closed days' valid indexes, whole.
_WHOLE_INDEXES = (
    "SELECT c.relname FROM pg_class c JOIN pg_index ix ON ix.indexrelid = c.oid "  # noqa: S608
    f"WHERE ix.indisvalid AND c.relkind = 'i' AND c.relname LIKE '{PREFIX}%{TRIGRAM_SUFFIX}'"
)


def trigram_index_name(day: date) -> str:
    return f"{partition_name(day)}{TRIGRAM_SUFFIX}"


def until_index_name(mark: datetime) -> str:
    """The current day's trigram index over the reads captured before `mark` (UTC)."""
    return f"{trigram_index_name(mark.date())}{_UNTIL_SUFFIX}{mark:%H%M}"


def until_mark(name: str) -> datetime | None:
    """The mark an `until_index_name` index stops at; None for any other name."""
    match = _UNTIL.fullmatch(name)
    day = partition_day(f"{PREFIX}{match[1]}") if match else None
    if match is None or day is None:
        return None
    hour, minute = int(match[2][:2]), int(match[2][2:])
    if hour > 23 or minute > 59:
        return None
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def current_mark(now: datetime) -> datetime:
    """`now` (UTC) down to a multiple of `CURRENT_DAY_STEP`."""
    now = now.astimezone(UTC)
    midnight = datetime.combine(now.date(), time(0), tzinfo=UTC)
    return midnight + (now - midnight) // CURRENT_DAY_STEP * CURRENT_DAY_STEP


async def until_marks(session: AsyncSession) -> list[datetime]:
    """The marks of the valid current-day indexes, oldest first (the search's arms)."""
    rows = await session.execute(text(_UNTIL_INDEXES))
    return sorted(m for name, valid in rows if valid and (m := until_mark(name)) is not None)


@dataclass(frozen=True)
class SearchIndexRun:
    """What one `index_for_search` run built: closed days, and the current day's mark."""

    days: list[date] = field(default_factory=list)
    current_until: datetime | None = None


async def index_for_search(db: Database, *, now: datetime) -> SearchIndexRun:
    """Build the trigram GIN indexes (partial plates: `PXK7*`, `*7342`, `*XK73*`) the search
    uses on PostgreSQL:

    - each day partition before today that holds reads and has none yet gets one, whole;
    - the current day gets one over the reads captured before `current_mark(now)` (a partial
      index, `WHERE captured_at < mark`), which replaces the day's older one.

    Kept on every insert, that index costs PostgreSQL about a third of the raw COPY rate (issue
    20); built over reads already stored it costs a fraction of that, off the ingest path. A
    read captured before a mark and stored after it is added to that index on insert (it meets
    the predicate); the reads after the current day's mark are few, and found through a BRIN
    index on capture time (`repository.reads.key_pattern`). Each index is built CONCURRENTLY
    (reads keep arriving meanwhile); one left invalid by an interrupted build is dropped and
    built again. An advisory lock keeps the replicas and the CronJob from building the same
    index twice."""
    if db.bound:  # a test's transaction: no CONCURRENTLY inside it
        async with db.sessionmaker() as session:
            run = await _index_for_search(await session.connection(), now, concurrently="")
            await session.commit()
            return run
    async with db.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        # A GIN build sorts its keys in this memory (the server's default is 64 MB).
        await conn.execute(text("SET maintenance_work_mem = '256MB'"))
        return await _index_for_search(conn, now, concurrently="CONCURRENTLY ")


async def _index_for_search(
    conn: AsyncConnection, now: datetime, *, concurrently: str
) -> SearchIndexRun:
    locked = await conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": _INDEX_LOCK_KEY})
    if not locked:
        return SearchIndexRun()
    try:
        mark = current_mark(now)
        days = await _index_closed_days(conn, mark.date(), concurrently=concurrently)
        until = await _index_current_day(conn, mark, concurrently=concurrently)
        return SearchIndexRun(days=days, current_until=until)
    finally:
        await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _INDEX_LOCK_KEY})


async def _holds_reads(conn: AsyncConnection, day: date, before: datetime | None = None) -> bool:
    # Names and bounds come from a date, never from input text.
    table = partition_name(day)
    if await conn.scalar(text("SELECT to_regclass(:t)"), {"t": f'"{table}"'}) is None:
        return False
    where = f" WHERE captured_at < '{before.isoformat()}'" if before is not None else ""
    held = text(f'SELECT EXISTS (SELECT 1 FROM "{table}"{where})')  # noqa: S608 (a date)
    return bool(await conn.scalar(held))


async def _index_closed_days(
    conn: AsyncConnection, today: date, *, concurrently: str
) -> list[date]:
    built: list[date] = []
    rows = await conn.execute(text(_UNINDEXED), {"suffix": TRIGRAM_SUFFIX})
    todo = sorted(
        (day, valid)
        for name, valid in rows
        if (day := partition_day(name)) is not None and day < today
    )
    for day, valid in todo:
        index, table = trigram_index_name(day), partition_name(day)
        # An empty day needs none yet: a late read makes it due at the next run.
        if not await _holds_reads(conn, day):
            continue
        if valid is False:
            await conn.execute(text(f'DROP INDEX {concurrently}IF EXISTS "{index}"'))
        await conn.execute(
            text(
                f'CREATE INDEX {concurrently}IF NOT EXISTS "{index}" ON "{table}" '
                f"USING gin ({TRIGRAM_COLUMNS})"
            )
        )
        built.append(day)
    return built


async def _index_current_day(
    conn: AsyncConnection, mark: datetime, *, concurrently: str
) -> datetime | None:
    """Today's index up to `mark` (None when no read is stored before it), then the older
    current-day indexes dropped: today's, and those of days now indexed whole."""
    found = {name: valid for name, valid in await conn.execute(text(_UNTIL_INDEXES))}
    index, table = until_index_name(mark), partition_name(mark.date())
    built: datetime | None = None
    if found.get(index) is True:
        built = mark
    elif await _holds_reads(conn, mark.date(), before=mark):
        if index in found:  # invalid: an interrupted build
            await conn.execute(text(f'DROP INDEX {concurrently}IF EXISTS "{index}"'))
        await conn.execute(
            text(
                f'CREATE INDEX {concurrently}IF NOT EXISTS "{index}" ON "{table}" '
                f"USING gin ({TRIGRAM_COLUMNS}) WHERE captured_at < '{mark.isoformat()}'"
            )
        )
        built = mark
    whole = set((await conn.execute(text(_WHOLE_INDEXES))).scalars())
    for name in found:
        old = until_mark(name)
        if name == index or old is None:
            continue
        # Today's older marks go once the new one is built; a closed day's, once it is whole.
        replaced = built is not None if old.date() == mark.date() else False
        if replaced or trigram_index_name(old.date()) in whole:
            await conn.execute(text(f'DROP INDEX {concurrently}IF EXISTS "{name}"'))
    return built
