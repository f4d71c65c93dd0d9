"""Every query of the ingest service, including the bulk path on PostgreSQL (a binary COPY into
the reads table; after a race with a concurrent request, COPY into a staging table, then
INSERT ... ON CONFLICT DO NOTHING RETURNING)."""

from __future__ import annotations

import csv
import io
import operator
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any, NamedTuple, TypeVar

import asyncpg
from pydantic_core import to_json
from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from alpr_common.db import UTCDateTime
from alpr_ingest import partitions
from alpr_ingest.models import (
    READ_TABLE,
    Camera,
    CameraKey,
    CaseExport,
    EquipmentProblem,
    HeldRead,
    HoldItem,
    PlacementReview,
    PlateRead,
    ReadHold,
)

READS = PlateRead.__table__  # type: ignore[attr-defined]
HELD = HeldRead.__table__  # type: ignore[attr-defined]
READ_COLUMNS: tuple[str, ...] = tuple(c.name for c in READS.columns)
_JSON_COLUMNS = frozenset({"candidates", "vehicle"})
_STAGING = f"{READ_TABLE}_staging"


# --- cameras ------------------------------------------------------------------------------------


async def get_camera(session: AsyncSession, camera_id: str) -> Camera | None:
    return await session.get(Camera, camera_id)


async def list_cameras(
    session: AsyncSession,
    *,
    status: str | None,
    camera_type: str | None,
    limit: int,
    offset: int,
) -> tuple[list[Camera], int]:
    conditions: list[ColumnElement[bool]] = []
    if status is not None:
        conditions.append(Camera.status == status)  # type: ignore[arg-type]
    if camera_type is not None:
        conditions.append(Camera.camera_type == camera_type)  # type: ignore[arg-type]
    total = (
        await session.execute(select(func.count()).select_from(Camera).where(*conditions))
    ).scalar_one()
    rows = (
        await session.execute(
            select(Camera).where(*conditions).order_by(Camera.id).limit(limit).offset(offset)
        )
    ).scalars()
    return list(rows), int(total)


async def camera_keys(session: AsyncSession, camera_ids: Iterable[str]) -> dict[str, list[str]]:
    ids = list(camera_ids)
    out: dict[str, list[str]] = {i: [] for i in ids}
    if not ids:
        return out
    rows = await session.execute(
        select(CameraKey.camera_id, CameraKey.key)
        .where(CameraKey.camera_id.in_(ids))  # type: ignore[attr-defined]
        .order_by(CameraKey.key)
    )
    for camera_id, key in rows:
        out[camera_id].append(key)
    return out


async def keys_taken(
    session: AsyncSession, keys: Sequence[str], *, exclude_camera: str | None
) -> list[tuple[str, str]]:
    """(key, camera_id) for keys already mapped to another camera, or equal to a camera id."""
    if not keys:
        return []
    rows = await session.execute(
        select(CameraKey.key, CameraKey.camera_id).where(
            CameraKey.key.in_(keys)  # type: ignore[attr-defined]
        )
    )
    taken = [(k, c) for k, c in rows if c != exclude_camera]
    ids = await session.execute(
        select(Camera.id).where(Camera.id.in_(keys))  # type: ignore[attr-defined]
    )
    taken += [(i, i) for (i,) in ids if i != exclude_camera]
    return taken


async def replace_keys(
    session: AsyncSession, camera_id: str, keys: Sequence[str], now: datetime
) -> None:
    await session.execute(delete(CameraKey).where(CameraKey.camera_id == camera_id))  # type: ignore[arg-type]
    for key in dict.fromkeys(keys):
        session.add(CameraKey(key=key, camera_id=camera_id, created_at=now))
    await session.flush()


async def latest_reviews(
    session: AsyncSession, camera_ids: Iterable[str]
) -> dict[str, PlacementReview]:
    ids = list(camera_ids)
    if not ids:
        return {}
    rows = (
        await session.execute(
            select(PlacementReview)
            .where(PlacementReview.camera_id.in_(ids))  # type: ignore[attr-defined]
            .order_by(PlacementReview.recorded_at, PlacementReview.id)
        )
    ).scalars()
    return {r.camera_id: r for r in rows}


async def list_reviews(session: AsyncSession, camera_id: str) -> list[PlacementReview]:
    rows = await session.execute(
        select(PlacementReview)
        .where(PlacementReview.camera_id == camera_id)  # type: ignore[arg-type]
        .order_by(PlacementReview.recorded_at.desc(), PlacementReview.id)  # type: ignore[attr-defined]
    )
    return list(rows.scalars())


class CameraSite(NamedTuple):
    """What the read path needs of a camera: read as plain rows, not ORM objects (a batch
    consults its camera for every read, and an ORM attribute costs more than the check)."""

    id: str
    camera_type: str
    status: str
    lat: float | None
    lon: float | None
    zip_code: str | None
    sector: str | None


_C = TypeVar("_C", Camera, CameraSite)


def _camera_lookups(*what: Any) -> tuple[Any, Any]:
    """`what` of the cameras whose id is in :refs, and (key, `what`) of those mapped from a
    vendor key in :refs. Built once (every read batch resolves its cameras; building a
    statement cost more than running it)."""
    by_id = select(*what).where(
        Camera.id.in_(bindparam("refs", expanding=True))  # type: ignore[attr-defined]
    )
    by_key = (
        select(CameraKey.key, *what)  # type: ignore[call-overload]
        .join(Camera, Camera.id == CameraKey.camera_id)
        .where(CameraKey.key.in_(bindparam("refs", expanding=True)))  # type: ignore[attr-defined]
    )
    return by_id, by_key


async def _resolve(
    session: AsyncSession,
    refs: Iterable[str],
    lookups: tuple[Any, Any],
    make: Callable[[Sequence[Any]], _C],
) -> dict[str, _C]:
    """Camera references (our ids or vendor keys) to what `make` builds from a lookup's row;
    unknown references are absent."""
    wanted = list(set(refs))
    if not wanted:
        return {}
    by_id, by_key = lookups
    found: dict[str, _C] = {}
    for row in await session.execute(by_id, {"refs": wanted}):
        item = make(row)
        found[item.id] = item
    rest = [r for r in wanted if r not in found]
    if rest:
        for key, *values in await session.execute(by_key, {"refs": rest}):
            found[key] = make(values)
    return found


_CAMERAS = _camera_lookups(Camera)
_SITES = _camera_lookups(*(Camera.__table__.c[name] for name in CameraSite._fields))


async def resolve_cameras(session: AsyncSession, refs: Iterable[str]) -> dict[str, Camera]:
    """Camera references (our ids or vendor keys) to cameras, as ORM objects to change."""
    return await _resolve(session, refs, _CAMERAS, operator.itemgetter(0))


async def camera_sites(session: AsyncSession, refs: Iterable[str]) -> dict[str, CameraSite]:
    """Camera references to their sites, for the read path."""
    return await _resolve(session, refs, _SITES, lambda values: CameraSite(*values))


async def last_read_times(
    session: AsyncSession, camera_ids: Sequence[str], *, since: datetime
) -> dict[str, datetime]:
    if not camera_ids:
        return {}
    rows = await session.execute(
        select(READS.c.camera_id, func.max(READS.c.captured_at))
        .where(READS.c.camera_id.in_(camera_ids), READS.c.captured_at >= since)
        .group_by(READS.c.camera_id)
    )
    return {camera_id: at for camera_id, at in rows if at is not None}


# --- equipment problems -------------------------------------------------------------------------


async def list_problems(
    session: AsyncSession, *, status: str | None, limit: int, offset: int
) -> tuple[list[EquipmentProblem], int]:
    conditions = [EquipmentProblem.status == status] if status else []  # type: ignore[comparison-overlap]
    total = (
        await session.execute(
            select(func.count()).select_from(EquipmentProblem).where(*conditions)  # type: ignore[arg-type]
        )
    ).scalar_one()
    rows = await session.execute(
        select(EquipmentProblem)
        .where(*conditions)  # type: ignore[arg-type]
        .order_by(EquipmentProblem.reported_at.desc(), EquipmentProblem.id)  # type: ignore[attr-defined]
        .limit(limit)
        .offset(offset)
    )
    return list(rows.scalars()), int(total)


# --- reads: the write path ----------------------------------------------------------------------


class _StoredRead(NamedTuple):
    read_id: uuid.UUID
    captured_at: datetime
    dedup_key: str
    group_state: str | None
    related_count: int
    confidence: float | None
    camera_id: str
    vendor_read_id: str | None


# One index probe per key (a nested loop over the keys), whatever the statistics say. The
# simpler `dedup_key = ANY($1)` leaves the plan to them, and a day partition that is growing
# faster than ANALYZE runs (every day starts with an empty one; a prepared statement may even
# keep the plan it got when the partition was empty) gets a scan of the whole capture-time range
# instead: measured 100 ms against 3 ms for 500 keys on a 300,000-read day not yet analysed.
_FIND_BY_DEDUP_KEYS = (
    f"SELECT {', '.join('r.' + f for f in _StoredRead._fields)} "  # noqa: S608 (constant names)
    "FROM unnest($1::text[]) AS k(key) CROSS JOIN LATERAL ("
    f"SELECT * FROM {READ_TABLE} WHERE dedup_key = k.key "
    "AND captured_at >= $2 AND captured_at <= $3 OFFSET 0) AS r"
)


async def _driver_connection(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under the session's transaction (PostgreSQL only)."""
    conn = await (await session.connection()).get_raw_connection()
    raw = conn.driver_connection
    assert raw is not None
    return raw


async def find_by_dedup_keys(
    session: AsyncSession, keys: Sequence[str], *, lo: datetime, hi: datetime
) -> list[_StoredRead]:
    """Stored reads whose dedup key is one of `keys`, captured between lo and hi."""
    if not keys:
        return []
    if partitions.is_postgresql(session):
        # Straight to asyncpg with one array parameter (see _FIND_BY_DEDUP_KEYS for the plan):
        # SQLAlchemy's array binding walks every key in Python, and this runs for every batch.
        raw = await _driver_connection(session)
        records = await raw.fetch(_FIND_BY_DEDUP_KEYS, list(keys), lo, hi)
        return [_StoredRead(*r) for r in records]
    c = READS.c
    rows = await session.execute(
        select(*(c[name] for name in _StoredRead._fields)).where(
            c.dedup_key.in_(list(keys)), c.captured_at >= lo, c.captured_at <= hi
        )
    )
    return [_StoredRead(*r) for r in rows]


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
    if not partitions.is_postgresql(session):
        await session.execute(insert(READS), list(rows))
        return set()
    raw = await _driver_connection(session)
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


async def update_read(
    session: AsyncSession, *, read_id: uuid.UUID, captured_at: datetime, values: dict[str, Any]
) -> None:
    await session.execute(
        update(READS)
        .where(READS.c.read_id == read_id, READS.c.captured_at == captured_at)
        .values(**values)
    )


# --- reads: the read path -----------------------------------------------------------------------


async def search_reads(
    session: AsyncSession,
    *,
    conditions: Sequence[ColumnElement[bool]],
    limit: int,
    offset: int,
) -> tuple[list[Any], int]:
    total = (
        await session.execute(select(func.count()).select_from(READS).where(*conditions))
    ).scalar_one()
    rows = await session.execute(
        select(READS)
        .where(*conditions)
        .order_by(READS.c.captured_at.desc(), READS.c.read_id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), int(total)


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


# --- holds --------------------------------------------------------------------------------------


async def list_holds(
    session: AsyncSession,
    *,
    status: str | None,
    case_number: str | None,
    limit: int,
    offset: int,
) -> tuple[list[ReadHold], int]:
    conditions: list[Any] = []
    if status:
        conditions.append(ReadHold.status == status)
    if case_number:
        conditions.append(ReadHold.case_number == case_number)
    total = (
        await session.execute(select(func.count()).select_from(ReadHold).where(*conditions))
    ).scalar_one()
    rows = await session.execute(
        select(ReadHold)
        .where(*conditions)
        .order_by(ReadHold.created_at.desc(), ReadHold.id)  # type: ignore[attr-defined]
        .limit(limit)
        .offset(offset)
    )
    return list(rows.scalars()), int(total)


async def hold_counts(session: AsyncSession, hold_ids: Sequence[str]) -> dict[str, int]:
    if not hold_ids:
        return {}
    rows = await session.execute(
        select(HoldItem.hold_id, func.count())
        .where(HoldItem.hold_id.in_(list(hold_ids)))  # type: ignore[attr-defined]
        .group_by(HoldItem.hold_id)
    )
    return {hold_id: int(n) for hold_id, n in rows}


async def hold_read_ids(session: AsyncSession, hold_id: str) -> set[uuid.UUID]:
    rows = await session.execute(
        select(HoldItem.read_id).where(HoldItem.hold_id == hold_id)  # type: ignore[arg-type]
    )
    return {r for (r,) in rows}


async def add_hold_items(
    session: AsyncSession, hold_id: str, read_rows: Sequence[Any], now: datetime
) -> None:
    """Reference the reads from the hold and copy them into the hold store (once per read)."""
    if not read_rows:
        return
    await session.execute(
        insert(HoldItem.__table__),  # type: ignore[attr-defined]
        [{"hold_id": hold_id, "read_id": r.read_id, "added_at": now} for r in read_rows],
    )
    ids = [r.read_id for r in read_rows]
    present = {
        r for (r,) in await session.execute(select(HELD.c.read_id).where(HELD.c.read_id.in_(ids)))
    }
    copies = [
        {**{col: getattr(r, col) for col in READ_COLUMNS}, "copied_at": now}
        for r in read_rows
        if r.read_id not in present
    ]
    if copies:
        await session.execute(insert(HELD), copies)


async def held_reads(session: AsyncSession, hold_id: str) -> list[Any]:
    rows = await session.execute(
        select(HELD)
        .join(HoldItem.__table__, HoldItem.read_id == HELD.c.read_id)  # type: ignore[attr-defined]
        .where(HoldItem.hold_id == hold_id)  # type: ignore[arg-type]
        .order_by(HELD.c.captured_at, HELD.c.read_id)
    )
    return list(rows)


async def list_exports(session: AsyncSession, hold_id: str) -> list[CaseExport]:
    rows = await session.execute(
        select(CaseExport)
        .where(CaseExport.hold_id == hold_id)  # type: ignore[arg-type]
        .order_by(CaseExport.exported_at, CaseExport.id)
    )
    return list(rows.scalars())


# --- purge --------------------------------------------------------------------------------------


def _active_hold_read_ids() -> Any:
    return (
        select(HoldItem.read_id)
        .join(ReadHold, ReadHold.id == HoldItem.hold_id)  # type: ignore[arg-type]
        .where(ReadHold.status == "active")  # type: ignore[arg-type]
    )


async def copy_held_from(
    session: AsyncSession, *, lo: datetime, hi: datetime, now: datetime
) -> int:
    """Copy reads captured in [lo, hi) that an active hold keeps into the hold store, if not there
    yet: the purge does this before it drops anything. Driven from the (small) set of held ids,
    so its cost does not grow with the day's reads."""
    held = [
        r
        for (r,) in await session.execute(
            _active_hold_read_ids().where(HoldItem.read_id.not_in(select(HELD.c.read_id)))  # type: ignore[attr-defined]
        )
    ]
    if not held:
        return 0
    c = READS.c
    source = select(*[c[name] for name in READ_COLUMNS], literal(now, UTCDateTime())).where(
        c.read_id.in_(held), c.captured_at >= lo, c.captured_at < hi
    )
    result = await session.execute(insert(HELD).from_select([*READ_COLUMNS, "copied_at"], source))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def image_hashes_between(session: AsyncSession, *, lo: datetime, hi: datetime) -> set[str]:
    c = READS.c
    rows = await session.execute(
        select(c.image_sha256)
        .where(c.image_sha256.is_not(None), c.captured_at >= lo, c.captured_at < hi)
        .distinct()
    )
    return {h for (h,) in rows}


async def delete_reads_before(session: AsyncSession, cutoff: datetime) -> int:
    """SQLite only: the embedded store has no partitions, so it deletes by capture day."""
    result = await session.execute(delete(READS).where(READS.c.captured_at < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def count_reads_between(session: AsyncSession, lo: datetime, hi: datetime) -> int:
    return int(
        (
            await session.execute(
                select(func.count())
                .select_from(READS)
                .where(READS.c.captured_at >= lo, READS.c.captured_at < hi)
            )
        ).scalar_one()
    )


async def expire_holds(session: AsyncSession, *, today: date) -> list[str]:
    """Holds whose retention schedule has ended become `expired`; return their ids."""
    ids = [
        i
        for (i,) in await session.execute(
            select(ReadHold.id).where(
                ReadHold.status == "active",  # type: ignore[arg-type]
                ReadHold.retention_until < today,  # type: ignore[arg-type]
            )
        )
    ]
    if ids:
        await session.execute(
            update(ReadHold)
            .where(ReadHold.id.in_(ids))  # type: ignore[attr-defined]
            .values(status="expired")
        )
    return ids


async def release_unheld_copies(session: AsyncSession, *, cutoff: datetime) -> tuple[int, set[str]]:
    """Delete hold-store copies past the retention window that no active hold keeps; return how
    many and their image hashes."""
    stale = and_(HELD.c.captured_at < cutoff, HELD.c.read_id.not_in(_active_hold_read_ids()))
    images = {
        h
        for (h,) in await session.execute(
            select(HELD.c.image_sha256).where(stale, HELD.c.image_sha256.is_not(None)).distinct()
        )
    }
    result = await session.execute(delete(HELD).where(stale))
    return int(result.rowcount or 0), images  # type: ignore[attr-defined]


async def images_still_referenced(session: AsyncSession, hashes: Iterable[str]) -> set[str]:
    wanted = list(hashes)
    if not wanted:
        return set()
    live = await session.execute(
        select(READS.c.image_sha256).where(READS.c.image_sha256.in_(wanted)).distinct()
    )
    held = await session.execute(
        select(HELD.c.image_sha256).where(HELD.c.image_sha256.in_(wanted)).distinct()
    )
    return {h for (h,) in live} | {h for (h,) in held}


# --- releases for the sharing service -------------------------------------------------------------


def _scope_conditions(
    *, plates: Sequence[str], camera_ids: Sequence[str], lo: datetime, hi: datetime
) -> list[ColumnElement[bool]]:
    c = READS.c
    conditions: list[ColumnElement[bool]] = [c.captured_at >= lo, c.captured_at <= hi]
    if plates:
        conditions.append(c.plate.in_(list(plates)))
    if camera_ids:
        conditions.append(c.camera_id.in_(list(camera_ids)))
    return conditions


async def reads_in_scope(
    session: AsyncSession,
    *,
    plates: Sequence[str],
    camera_ids: Sequence[str],
    lo: datetime,
    hi: datetime,
) -> list[Any]:
    """Live reads of the plates (and cameras) captured between lo and hi, whole rows."""
    rows = await session.execute(
        select(READS)
        .where(*_scope_conditions(plates=plates, camera_ids=camera_ids, lo=lo, hi=hi))
        .order_by(READS.c.captured_at, READS.c.read_id)
    )
    return list(rows)


def _csv_value(value: Any) -> Any:
    # The text PostgreSQL's COPY writes, so a bundle reads the same from either backend.
    if value is None:
        return ""
    if isinstance(value, datetime):
        text = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        if value.microsecond:
            text += f".{value.microsecond:06d}".rstrip("0")
        return text + "+00"
    return value


async def write_release_csv(
    session: AsyncSession,
    write: Callable[[bytes], None],
    *,
    fields: Sequence[str],
    plates: Sequence[str],
    camera_ids: Sequence[str],
    lo: datetime,
    hi: datetime,
) -> int:
    """Write the scope's reads, `fields` only, as CSV with a header to `write`; return the count.
    PostgreSQL: one `COPY (SELECT ...) TO STDOUT`, streamed. `fields` are checked names."""
    columns = [READS.c[f] for f in fields]
    if partitions.is_postgresql(session):
        raw = await _driver_connection(session)
        # Times in UTC whatever the server's zone, as the SQLite path writes them.
        await raw.execute("SET LOCAL timezone = 'UTC'")
        where = ["captured_at >= $1", "captured_at <= $2"]
        args: list[Any] = [lo, hi]
        if plates:
            args.append(list(plates))
            where.append(f"plate = ANY(${len(args)}::text[])")
        if camera_ids:
            args.append(list(camera_ids))
            where.append(f"camera_id = ANY(${len(args)}::text[])")
        query = (
            f"SELECT {', '.join(fields)} FROM {READ_TABLE} "  # noqa: S608 (checked names)
            f"WHERE {' AND '.join(where)} ORDER BY captured_at, read_id"
        )

        async def sink(chunk: bytes) -> None:
            write(chunk)

        status = await raw.copy_from_query(query, *args, output=sink, format="csv", header=True)
        return int(str(status).rsplit(" ", 1)[-1])
    rows = await session.execute(
        select(*columns)
        .where(*_scope_conditions(plates=plates, camera_ids=camera_ids, lo=lo, hi=hi))
        .order_by(READS.c.captured_at, READS.c.read_id)
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(fields)
    count = 0
    for row in rows:
        writer.writerow([_csv_value(v) for v in row])
        count += 1
    write(buffer.getvalue().encode())
    return count
