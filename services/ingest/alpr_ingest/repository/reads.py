"""Queries of reads: the write path, including the bulk path on PostgreSQL (a binary COPY into
the reads table; after a race with a concurrent request, COPY into a staging table, then
INSERT ... ON CONFLICT DO NOTHING RETURNING), and the read path."""

from __future__ import annotations

import itertools
import operator
import re
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

import asyncpg
from pydantic_core import to_json
from sqlalchemy import (
    ColumnElement,
    and_,
    column,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    table,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from alpr_common.auth import Principal
from alpr_common.db import (
    Database,
    driver_connection,
    insert_sql,
    is_postgresql,
    pg_array_type,
)
from alpr_common.pagination import PageParams, after_key, decode_cursor, encode_cursor
from alpr_ingest import partitions
from alpr_ingest.models import (
    OUTBOX,
    READ_TABLE,
    TRIGRAM_TABLE,
    HeldRead,
    PlateRead,
    ReadAlias,
)
from alpr_ingest.plates import anchored, like_pattern

READS = PlateRead.__table__
ALIASES = ReadAlias.__table__
HELD = HeldRead.__table__
READ_COLUMNS: tuple[str, ...] = tuple(c.name for c in READS.columns)
# A pattern known this far at its start or end is a range of a plate key btree (`key_pattern`).
MIN_KNOWN_END = 3
_JSON_COLUMNS = frozenset({"candidates", "vehicle"})
_STAGING = f"{READ_TABLE}_staging"
OUTBOX_TABLE = OUTBOX.outbox

# --- the write path -------------------------------------------------------------------------------


class StoredRead(NamedTuple):
    read_id: uuid.UUID
    captured_at: datetime
    dedup_key: str
    group_state: str | None
    related_count: int
    confidence: float | None
    camera_id: str
    vendor_read_id: str | None
    camera_type: str
    zip_code: str | None
    sector: str | None


# One index probe per key (a nested loop over the keys), whatever the statistics say. The
# simpler `dedup_key = ANY($1)` leaves the plan to them, and a day partition that is growing
# faster than ANALYZE runs (every day starts with an empty one; a prepared statement may even
# keep the plan it got when the partition was empty) gets a scan of the whole capture-time range
# instead: measured 100 ms against 3 ms for 500 keys on a 300,000-read day not yet analysed.
_FIND_BY_DEDUP_KEYS = (
    f"SELECT {', '.join('r.' + f for f in StoredRead._fields)} "  # noqa: S608 (constant names)
    "FROM unnest($1::text[]) AS k(key) CROSS JOIN LATERAL ("
    f"SELECT * FROM {READ_TABLE} WHERE dedup_key = k.key "
    "AND captured_at >= $2 AND captured_at <= $3 OFFSET 0) AS r"
)


async def find_by_dedup_keys(
    session: AsyncSession, keys: Sequence[str], *, lo: datetime, hi: datetime
) -> list[StoredRead]:
    """Stored reads whose dedup key is one of `keys`, captured between lo and hi."""
    if not keys:
        return []
    if is_postgresql(session):
        # Straight to asyncpg with one array parameter (see _FIND_BY_DEDUP_KEYS for the plan):
        # SQLAlchemy's array binding walks every key in Python, and this runs for every batch.
        raw = await driver_connection(session)
        records = await raw.fetch(_FIND_BY_DEDUP_KEYS, list(keys), lo, hi)
        return [StoredRead(*r) for r in records]
    c = READS.c
    rows = await session.execute(
        select(*(c[name] for name in StoredRead._fields)).where(
            c.dedup_key.in_(list(keys)), c.captured_at >= lo, c.captured_at <= hi
        )
    )
    return [StoredRead(*r) for r in rows]


def _json_text(value: Any) -> str | None:
    # pydantic-core's encoder: the values are validated plain data, and it is several times
    # faster than json.dumps on these small lists.
    return None if value is None else to_json(value).decode()


_RECORD = operator.itemgetter(*READ_COLUMNS)
_JSON_POSITIONS = tuple(i for i, col in enumerate(READ_COLUMNS) if col in _JSON_COLUMNS)


def _record(row: dict[str, Any]) -> tuple[Any, ...]:
    """A COPY record in READ_COLUMNS order, its JSON columns as text."""
    values = list(_RECORD(row))
    for i in _JSON_POSITIONS:
        values[i] = _json_text(values[i])
    return tuple(values)


class ConcurrentInsert(Exception):
    """A read of the batch was stored by a concurrent request after this one looked: the
    transaction is aborted, and the caller redoes its work with `careful=True`."""


async def insert_reads(
    session: AsyncSession, rows: Sequence[dict[str, Any]], *, careful: bool = False
) -> set[uuid.UUID]:
    """Insert reads, skipping any whose (dedup_key, captured_at) is already stored, all in the
    caller's transaction; return the ids of those skipped (nearly always none).

    PostgreSQL: the caller has already set aside the reads it found stored, so the batch is
    written by one binary COPY straight into the reads table. Should that meet a read stored
    meanwhile by a concurrent request (a unique violation), the transaction is lost and
    ConcurrentInsert tells the caller to roll back and start again with `careful=True`: then the
    batch is COPied into a session-local staging table and moved by INSERT ... SELECT ... ON
    CONFLICT DO NOTHING RETURNING, which skips what is already there. (No savepoint around the
    fast COPY: two round trips on every batch to spare a rare race a retry.)"""
    if not rows:
        return set()
    if not is_postgresql(session):
        await session.execute(insert(READS), list(rows))
        return set()
    raw = await driver_connection(session)
    records = [_record(r) for r in rows]
    columns = list(READ_COLUMNS)
    if not careful:
        try:
            await raw.copy_records_to_table(READ_TABLE, records=records, columns=columns)
        except asyncpg.UniqueViolationError as exc:
            raise ConcurrentInsert from exc
        return set()
    await raw.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {_STAGING} "
        f"(LIKE {READ_TABLE} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
    )
    await raw.copy_records_to_table(_STAGING, records=records, columns=columns)
    cols = ", ".join(READ_COLUMNS)
    inserted = await raw.fetch(
        f"INSERT INTO {READ_TABLE} ({cols}) SELECT {cols} FROM {_STAGING} "  # noqa: S608
        "ON CONFLICT DO NOTHING RETURNING read_id"
    )
    # The staging rows would go at commit; clear them now for a next batch in this transaction.
    await raw.execute(f"DELETE FROM {_STAGING}")  # noqa: S608 (constant names)
    kept = {r["read_id"] for r in inserted}
    return {r["read_id"] for r in rows} - kept


class NewReads(NamedTuple):
    """One message's reads for `insert_new_reads`: rows believed new, the dedup window of each,
    and who posted them (the group's events are built per poster, `reads.ReadWriter`)."""

    rows: Sequence[dict[str, Any]]
    # Per row: its dedup key's window (lo, hi), and whether a read alias may hold it too.
    windows: Sequence[tuple[datetime, datetime]]
    check_aliases: bool
    principal: Principal


def _insert_new_sql() -> str:
    """One statement that finds which messages of a group hold a read already stored (by dedup
    key in its window, or by read alias) and, if none does, stores the group's reads and outbox
    rows (the group's events cover all its messages, so a group with such a message writes
    nothing: the caller writes the others again without it). A statement is atomic: a read
    stored meanwhile by a concurrent transaction (a unique violation) fails it whole, and
    nothing is written.

    Each key is one index probe, whatever the statistics say (tests/ingest checks the plan): the
    read lookup's range conditions keep it a probe per key, and OFFSET 0 keeps the planner from
    turning the alias EXISTS into a hashed subplan, which reads the whole alias table on every
    execution (what a generic plan made while the table was small would do for good)."""
    n = len(READ_COLUMNS)
    values = ", ".join(f"v.{c}::jsonb" if c in _JSON_COLUMNS else f"v.{c}" for c in READ_COLUMNS)
    arrays = ", ".join(f"${i + 6}::{pg_array_type(READS, c)}[]" for i, c in enumerate(READ_COLUMNS))
    o = n + 6  # the time, then the outbox parameters
    return (
        "WITH k AS (SELECT * FROM unnest($1::int4[], $2::text[], $3::timestamptz[], "  # noqa: S608
        "$4::timestamptz[], $5::bool[]) AS k(unit, key, lo, hi, alias)), "
        f"hit AS (SELECT DISTINCT k.unit FROM k WHERE EXISTS (SELECT 1 FROM {READ_TABLE} r "
        "WHERE r.dedup_key = k.key AND r.captured_at >= k.lo AND r.captured_at <= k.hi) "
        f"OR (k.alias AND EXISTS (SELECT 1 FROM {ALIASES.name} a WHERE a.alias_key = k.key "
        "OFFSET 0))), "
        f"ins AS (INSERT INTO {READ_TABLE} ({', '.join(READ_COLUMNS)}) SELECT {values} "
        f"FROM unnest({arrays}) AS v({', '.join(READ_COLUMNS)}) "
        "WHERE NOT EXISTS (SELECT 1 FROM hit) RETURNING 1), "
        f"ob AS (INSERT INTO {OUTBOX_TABLE.name} (event_id, destination, envelope, created_at, "
        "next_attempt_at, attempts) SELECT e.event_id, e.destination, e.envelope, "
        f"${o}, ${o}, 0 FROM unnest(${o + 1}::text[], ${o + 2}::text[], "
        f"${o + 3}::text[]) AS e(event_id, destination, envelope) "
        "WHERE NOT EXISTS (SELECT 1 FROM hit) RETURNING 1) "
        "SELECT unit FROM hit"
    )


_INSERT_NEW = _insert_new_sql()


async def insert_new_reads(
    db: Database, units: Sequence[NewReads], outbox: Sequence[dict[str, Any]], *, now: datetime
) -> set[int]:
    """Store the reads of `units` and the `outbox` rows (the group's events), committed when
    this returns, unless a message holds a read already stored: then nothing is written, and
    the positions of those messages are returned. A read stored by a concurrent transaction
    meanwhile raises ConcurrentInsert, nothing written.

    PostgreSQL: one statement (`_insert_new_sql`) on `Database.single_statement`, its own
    transaction: one round trip for a whole group of messages. SQLite: the lookups and the two
    inserts in one call on the writers' connection (`Database.sqlite_write_call`), which holds
    the write lock from its BEGIN: nothing changes between the lookups and the inserts."""
    if db.dialect == "postgresql":
        async with db.single_statement() as raw:
            return await _insert_new_pg(raw, units, outbox, now=now)
    return await _insert_new_sqlite(db, units, outbox, now=now)


async def _insert_new_pg(
    raw: Any,
    units: Sequence[NewReads],
    outbox: Sequence[dict[str, Any]],
    *,
    now: datetime,
) -> set[int]:
    keys = [
        (i, r["dedup_key"], w)
        for i, u in enumerate(units)
        for r, w in zip(u.rows, u.windows, strict=True)
    ]
    alias = [u.check_aliases for u in units]
    rows = [r for u in units for r in u.rows]
    args: list[Any] = [
        [i for i, _, _ in keys],
        [k for _, k, _ in keys],
        [w[0] for _, _, w in keys],
        [w[1] for _, _, w in keys],
        [alias[i] for i, _, _ in keys],
    ]
    for c in READ_COLUMNS:
        if c in _JSON_COLUMNS:
            args.append([_json_text(r[c]) for r in rows])
        else:
            args.append([r[c] for r in rows])
    args += [
        now,
        [e["event_id"] for e in outbox],
        [e["destination"] for e in outbox],
        [e["envelope"] for e in outbox],
    ]
    try:
        hits = await raw.fetch(_INSERT_NEW, *args)
    except asyncpg.UniqueViolationError as exc:
        raise ConcurrentInsert from exc
    return {h["unit"] for h in hits}


_SQLITE_STORED = (
    f"SELECT 1 FROM {READ_TABLE} WHERE dedup_key = ? AND captured_at >= ? "  # noqa: S608
    "AND captured_at <= ? LIMIT 1"
)
_SQLITE_ALIASED = f"SELECT 1 FROM {ALIASES.name} WHERE alias_key = ?"  # noqa: S608
_OUTBOX_NAMES = ("event_id", "destination", "envelope", "created_at", "next_attempt_at", "attempts")


async def _insert_new_sqlite(
    db: Database,
    units: Sequence[NewReads],
    outbox: Sequence[dict[str, Any]],
    *,
    now: datetime,
) -> set[int]:
    # Times compare as SQLAlchemy stores them (fixed-width text, so in time order).
    at = READS.c.captured_at.type.bind_processor(db.engine.dialect)
    assert at is not None
    checks = [
        (i, r["dedup_key"], at(lo), at(hi), u.check_aliases)
        for i, u in enumerate(units)
        for r, (lo, hi) in zip(u.rows, u.windows, strict=True)
    ]
    reads = db.sqlite_records(READS, READ_COLUMNS, [r for u in units for r in u.rows])
    events = [{**e, "created_at": now, "next_attempt_at": now, "attempts": 0} for e in outbox]
    queued = db.sqlite_records(OUTBOX_TABLE, _OUTBOX_NAMES, events)
    insert_reads = insert_sql(READS, READ_COLUMNS)
    insert_outbox = insert_sql(OUTBOX_TABLE, _OUTBOX_NAMES)

    def write(conn: Any) -> set[int]:
        hits: set[int] = set()
        for i, key, lo, hi, aliases in checks:
            if i in hits:
                continue
            if conn.execute(_SQLITE_STORED, (key, lo, hi)).fetchone() is not None or (
                aliases and conn.execute(_SQLITE_ALIASED, (key,)).fetchone() is not None
            ):
                hits.add(i)
        if not hits:
            conn.executemany(insert_reads, reads)
            conn.executemany(insert_outbox, queued)
        return hits

    return await db.sqlite_write_call(write)


async def find_by_alias_keys(
    session: AsyncSession, keys: Sequence[str]
) -> list[tuple[str, StoredRead]]:
    """(alias key, stored read) for the keys that are another identity of a stored read."""
    if not keys:
        return []
    c = READS.c
    a = ALIASES.c
    rows = await session.execute(
        select(a.alias_key, *(c[name] for name in StoredRead._fields))
        .join(READS, and_(c.read_id == a.read_id, c.captured_at == a.captured_at))
        .where(a.alias_key.in_(list(keys)))
    )
    return [(r[0], StoredRead(*r[1:])) for r in rows]


async def replace_aliases(
    session: AsyncSession,
    *,
    read_ids: Sequence[uuid.UUID],
    aliases: Sequence[dict[str, Any]],
) -> None:
    """Drop the aliases of `read_ids` and store `aliases` ({alias_key, read_id, captured_at}):
    a key last claimed by a concurrent message moves to this one's read."""
    if read_ids:
        await session.execute(delete(ALIASES).where(ALIASES.c.read_id.in_(list(read_ids))))
    if not aliases:
        return
    dialect_insert = pg_insert if is_postgresql(session) else sqlite_insert
    stmt = dialect_insert(ALIASES).values(list(aliases))
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[ALIASES.c.alias_key],
            set_={"read_id": stmt.excluded.read_id, "captured_at": stmt.excluded.captured_at},
        )
    )


async def delete_reads(session: AsyncSession, keys: Sequence[tuple[uuid.UUID, datetime]]) -> None:
    """Delete reads by (read_id, captured_at): the frame reads a vendor's group superseded."""
    if keys:
        await session.execute(
            delete(READS).where(tuple_(READS.c.read_id, READS.c.captured_at).in_(list(keys)))
        )


async def update_read(
    session: AsyncSession, *, read_id: uuid.UUID, captured_at: datetime, values: dict[str, Any]
) -> None:
    await session.execute(
        update(READS)
        .where(READS.c.read_id == read_id, READS.c.captured_at == captured_at)
        .values(**values)
    )


# --- the read path --------------------------------------------------------------------------------


_TRIGRAMS = table(TRIGRAM_TABLE, column("rowid"), column("k"))


async def key_pattern(session: AsyncSession, folded: str) -> ColumnElement[bool]:
    """Reads whose plate key matches the folded `?`/`*` pattern, found through an index.

    PostgreSQL: in a closed day, its trigram GIN index (on the folded key and the plate, so
    that the caller's condition on the plate as read is an index condition too); in the
    current day, the plate key btree (pattern ops) for a known start, or the reversed key's
    for a longer known end (the condition on `reverse(plate_key)` is the pattern's end read
    backwards, which that index serves). A pattern with fewer than three known characters at
    each end (`*XK73*`) is split by the marks of the current day's trigram indexes
    (`partitions.index_for_search`): before its mark, such an index serves it (the planner
    proves each arm implies the index's predicate, so the marks are literals, never
    parameters); after the newest mark, the BRIN index on capture time bounds the scan to the
    reads stored since. The arms cover all time: without an index, the answer is the same,
    only slower.
    SQLite: the FTS5 table kept by triggers (its rows are `^<key>$` under the read's rowid),
    rechecked on the read."""
    key_like: ColumnElement[bool] = READS.c.plate_key.like(like_pattern(folded))
    if is_postgresql(session):
        # The search transaction's statements are planned for their own pattern each time.
        # After five runs of one statement PostgreSQL may keep a generic plan, blind to the
        # pattern (a LIKE parameter has no prefix to range over, no selectivity): it chose a
        # scan of the current day for `*XK73*`, 120 ms at 20 M reads instead of 10. An exact
        # plate keeps the plan cache (planning 30 partitions costs it 2.5 ms).
        await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
        runs = re.split(r"[?*]", folded)
        start, end = runs[0], runs[-1]
        if len(end) > len(start):  # `*7342`, `PX?7342`: the end narrows more than the start
            reversed_key = func.reverse(READS.c.plate_key)
            key_like = and_(key_like, reversed_key.like(end[::-1] + "%"))
        if max(len(start), len(end)) >= MIN_KNOWN_END:
            return key_like
        marks = await partitions.until_marks(session)
        if not marks:
            return key_like
        at = READS.c.captured_at
        bounds = [literal_column(f"'{m.isoformat()}'::timestamptz", at.type) for m in marks]
        arms: list[ColumnElement[bool]] = [at < bounds[0], at >= bounds[-1]]
        arms += [and_(at >= a, at < b) for a, b in itertools.pairwise(bounds)]
        return and_(key_like, or_(*arms))
    found = select(_TRIGRAMS.c.rowid).where(_TRIGRAMS.c.k.op("GLOB")(anchored(folded)))
    return and_(literal_column(f"{READ_TABLE}.rowid").in_(found), key_like)


async def rebuild_trigram_index(session: AsyncSession) -> int | None:
    """SQLite: fill the FTS5 table again from the reads (after a VACUUM, which may renumber the
    rowids it is keyed by, or a restore); return the reads indexed. None on PostgreSQL, whose
    index is part of each day partition."""
    if is_postgresql(session):
        return None
    await session.execute(delete(_TRIGRAMS))
    await session.execute(
        insert(_TRIGRAMS).from_select(
            ["rowid", "k"],
            select(literal_column(f"{READ_TABLE}.rowid"), "^" + READS.c.plate_key + "$"),
        )
    )
    return int((await session.execute(select(func.count()).select_from(_TRIGRAMS))).scalar_one())


async def search_reads(
    session: AsyncSession,
    *,
    conditions: Sequence[ColumnElement[bool]],
    rank: ColumnElement[int] | None,
    page: PageParams,
) -> tuple[list[Any], str | None, int]:
    """A page of reads, best match first (`rank`, when a plate was asked for), then newest,
    by keyset (the cursor is the last read's rank, capture time and id), and the total, which
    the search's audit record carries.

    With a plate the matches are few (an index found them): the first page is one query, the
    total counted over it. Without one, a count and a page that an index on capture time can
    serve."""
    c = READS.c
    key: tuple[Any, ...] = (c.captured_at, c.read_id)
    flags: tuple[bool, ...] = (True, False)
    columns: list[Any] = [READS]
    if rank is not None:
        key, flags = (rank, *key), (False, *flags)
        columns.append(rank.label("match_rank"))
    first = page.cursor is None
    if rank is not None and first:
        columns.append(func.count().over().label("total"))
    stmt = select(*columns).where(*conditions)
    if not first:
        assert page.cursor is not None
        stmt = stmt.where(after_key(key, decode_cursor(page.cursor, len(key)), flags))
    order = [k.desc() if d else k.asc() for k, d in zip(key, flags, strict=True)]
    rows = list(await session.execute(stmt.order_by(*order).limit(page.limit + 1)))
    if rank is not None and first and rows:
        total = int(rows[0].total)
    elif rank is not None and first:
        total = 0
    else:
        total = int(
            (
                await session.execute(select(func.count()).select_from(READS).where(*conditions))
            ).scalar_one()
        )
    if len(rows) <= page.limit:
        return rows, None, total
    rows = rows[: page.limit]
    last = rows[-1]
    values = [last.captured_at, last.read_id]
    if rank is not None:
        values.insert(0, last.match_rank)
    return rows, encode_cursor(values), total


async def get_read(session: AsyncSession, read_id: uuid.UUID, *, since: datetime) -> Any | None:
    row = await session.execute(
        select(READS).where(READS.c.read_id == read_id, READS.c.captured_at >= since)
    )
    return row.first()


async def reads_by_ids(
    session: AsyncSession, read_ids: Sequence[uuid.UUID], *, since: datetime
) -> list[Any]:
    if not read_ids:
        return []
    rows = await session.execute(
        select(READS).where(READS.c.read_id.in_(list(read_ids)), READS.c.captured_at >= since)
    )
    return list(rows)


async def back_match(
    session: AsyncSession,
    *,
    plates: Sequence[str],
    keys: Sequence[str],
    since: datetime,
    limit: int,
) -> list[Any]:
    c = READS.c
    match = []
    if plates:
        match.append(c.plate.in_(list(plates)))
    if keys:
        match.append(c.plate_key.in_(list(keys)))
    rows = await session.execute(
        select(READS)
        .where(or_(*match), c.captured_at >= since)
        .order_by(c.captured_at.desc(), c.read_id)
        .limit(limit)
    )
    return list(rows)
