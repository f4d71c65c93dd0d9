"""Every query of the audit service."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from alpr_audit.chain import GENESIS_HASH
from alpr_audit.models import (
    AlertFact,
    CameraFact,
    ChainHead,
    ConfigSetting,
    DailyCount,
    HoldFact,
    HotlistFact,
    IncidentFact,
    LogEntry,
    ManualEntryFact,
    MisuseAllegation,
    PolicyChange,
    PopulationArea,
    PopulationImport,
    ReviewItem,
    ReviewSample,
    ScanCount,
    SharingFact,
)
from alpr_audit.schemas import LogEntryQuery, TransactionQuery, _ListQuery
from alpr_common.db import (
    driver_connection,
    is_postgresql,
    pg_insert_rows,
    rowcount,
    utcnow,
)
from alpr_common.outbox import insert_ignore
from alpr_common.pagination import Paged, PageParams, keyset_page, offset_page

ENTRY = LogEntry.__table__
HEAD = ChainHead.__table__
SCAN = ScanCount.__table__
ALERT = AlertFact.__table__
MANUAL_ENTRY = ManualEntryFact.__table__
INCIDENT = IncidentFact.__table__
SHARING = SharingFact.__table__
HOLD = HoldFact.__table__
DAILY = DailyCount.__table__
CAMERA = CameraFact.__table__
HOTLIST = HotlistFact.__table__
SETTING = ConfigSetting.__table__
POLICY_CHANGE = PolicyChange.__table__
GATEWAY_REQUEST = "gateway.request"
GATEWAY_RESPONSE = "gateway.response"
# Rows per statement in bulk paths: well under SQLite's and asyncpg's bind-parameter limits.
_CHUNK = 1000


# ----------------------------------------------------------------------------- appending


async def lock_head(session: AsyncSession) -> tuple[int, str]:
    """The chain head, locked until the transaction ends: appends take turns here.

    PostgreSQL: SELECT ... FOR UPDATE on the one head row; a second appender waits, then reads
    the head the first one committed. SQLite: every write transaction is BEGIN IMMEDIATE, so
    there is one writer at a time already."""
    query = select(HEAD.c.seq, HEAD.c.hash).where(HEAD.c.id == 1).with_for_update()
    row = (await session.execute(query)).one_or_none()
    if row is None:
        # The migration seeds the head; if it is gone, rebuild it from the log's tail.
        tail = await last_entry(session)
        seq, hash_ = tail if tail is not None else (0, GENESIS_HASH)
        await session.execute(
            insert_ignore(session, HEAD)
            .values(id=1, seq=seq, hash=hash_, updated_at=utcnow())
            .on_conflict_do_nothing()
        )
        row = (await session.execute(query)).one()
    return int(row.seq), str(row.hash)


async def insert_entry(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Append an entry; False (and nothing written) if its event id is already in the log."""
    stmt = (
        insert_ignore(session, ENTRY)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["event_id"])
    )
    result = await session.execute(stmt)
    return bool(rowcount(result))


async def logged_event_ids(session: AsyncSession, event_ids: Sequence[str]) -> set[str]:
    if is_postgresql(session):
        # One statement with the ids as one array: an IN list is rendered afresh per length.
        raw = await driver_connection(session)
        rows = await raw.fetch(_LOGGED_PG, list(event_ids))
        return {r[0] for r in rows}
    found: set[str] = set()
    for start in range(0, len(event_ids), _CHUNK):
        query = select(ENTRY.c.event_id).where(
            ENTRY.c.event_id.in_(event_ids[start : start + _CHUNK])
        )
        found.update((await session.execute(query)).scalars())
    return found


# One probe of the event_id index per id, whatever plan the statistics of the moment give. The
# log starts empty and grows by every transaction, faster than ANALYZE runs: written as
# `event_id = ANY($1)`, the generic plan a prepared statement ends up with was made while the
# log was small (a scan of the whole log: 227 ms a delivery of 325 ids at 60,000 entries, most
# of PostgreSQL's CPU in the single-read bench) and kept as the log grew. The lateral subquery,
# fenced by OFFSET 0, leaves the planner only the index per id (tests/audit/test_intake.py).
_LOGGED_PG = (
    "SELECT k.id FROM unnest($1::text[]) AS k(id) CROSS JOIN LATERAL ("  # noqa: S608
    f"SELECT 1 FROM {ENTRY.name} WHERE event_id = k.id OFFSET 0) AS e"
)


async def insert_entries(session: AsyncSession, entries: Sequence[dict[str, Any]]) -> None:
    """Append entries (their event ids known new: `intake.record_events`). PostgreSQL: one
    statement (`pg_insert_rows`)."""
    if is_postgresql(session):
        await pg_insert_rows(await driver_connection(session), ENTRY, entries)
        return
    for start in range(0, len(entries), _CHUNK):
        await session.execute(insert(ENTRY), list(entries[start : start + _CHUNK]))


# ----------------------------------------------------------------------------- the chain


async def get_head(session: AsyncSession) -> tuple[int, str] | None:
    row = (await session.execute(select(HEAD.c.seq, HEAD.c.hash))).one_or_none()
    return (int(row.seq), str(row.hash)) if row is not None else None


async def last_entry(session: AsyncSession) -> tuple[int, str] | None:
    query = select(ENTRY.c.seq, ENTRY.c.hash).order_by(ENTRY.c.seq.desc()).limit(1)
    row = (await session.execute(query)).one_or_none()
    return (int(row.seq), str(row.hash)) if row is not None else None


async def entry_by_seq(session: AsyncSession, seq: int) -> Row[Any] | None:
    return (await session.execute(select(ENTRY).where(ENTRY.c.seq == seq))).one_or_none()


async def iter_entry_pages(
    session: AsyncSession, *, after_seq: int = 0, upto_seq: int | None = None, page_size: int
) -> AsyncIterator[Sequence[Row[Any]]]:
    """Entries in seq order, a page at a time (keyset paging: each page one indexed query)."""
    last = after_seq
    while True:
        query = select(ENTRY).where(ENTRY.c.seq > last).order_by(ENTRY.c.seq).limit(page_size)
        if upto_seq is not None:
            query = query.where(ENTRY.c.seq <= upto_seq)
        rows = (await session.execute(query)).all()
        if not rows:
            return
        yield rows
        if len(rows) < page_size:
            return
        last = rows[-1].seq


# ----------------------------------------------------------------------------- reading


def _status_range(status_class: str) -> tuple[int, int]:
    base = int(status_class[0]) * 100
    return base, base + 99


def _common_filters(table: Any, q: _ListQuery) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if q.subject is not None:
        where.append(table.c.subject == q.subject)
    if q.request_id is not None:
        where.append(table.c.request_id == q.request_id)
    if q.since is not None:
        where.append(table.c.occurred_at >= q.since)
    if q.until is not None:
        where.append(table.c.occurred_at < q.until)
    if q.flag is not None:
        # flags are stored ",a,b,"; the flag pattern ([a-z0-9_]) has no LIKE wildcard but "_".
        where.append(table.c.flags.like(f"%,{q.flag.replace('_', '!_')},%", escape="!"))
    return where


async def _page(
    session: AsyncSession, query: Select[Any], *, order_by: Any, q: _ListQuery
) -> Paged[Row[Any]]:
    # The log grows by every request of the suite: keyset on the sequence number, no count.
    return await keyset_page(
        session, query, key=(order_by,), page=q.page_params(), descending=q.order == "desc"
    )


async def list_entries(session: AsyncSession, q: LogEntryQuery) -> Paged[Row[Any]]:
    where = _common_filters(ENTRY, q)
    if q.type is not None:
        if q.type.endswith(".*"):
            where.append(ENTRY.c.type.startswith(q.type[:-1], autoescape=True))
        else:
            where.append(ENTRY.c.type == q.type)
    if q.source is not None:
        where.append(ENTRY.c.source == q.source)
    if q.status_class is not None:
        low, high = _status_range(q.status_class)
        where.append(ENTRY.c.status.between(low, high))
    query = select(ENTRY).where(*where)
    return await _page(session, query, order_by=ENTRY.c.seq, q=q)


async def count_requests_without_outcome(session: AsyncSession, *, before: datetime) -> int:
    """gateway.request entries made before `before` with no gateway.response of the same
    request id: outcomes the gateway could not record (or streams still open)."""
    req = ENTRY.alias("req")
    resp = ENTRY.alias("resp")
    answered = (
        select(resp.c.seq)
        .where(resp.c.type == GATEWAY_RESPONSE, resp.c.request_id == req.c.request_id)
        .exists()
    )
    query = select(func.count()).where(
        req.c.type == GATEWAY_REQUEST,
        req.c.request_id.is_not(None),
        req.c.occurred_at < before,
        ~answered,
    )
    return int((await session.execute(query)).scalar_one())


async def list_transactions(session: AsyncSession, q: TransactionQuery) -> Paged[Row[Any]]:
    """gateway.request entries, each with the first gateway.response of the same request id.

    Rows carry the request's columns and `resp_seq`, `resp_status`, `resp_data`."""
    req = ENTRY.alias("req")
    resp = ENTRY.alias("resp")
    later = ENTRY.alias("later")
    first_response = (
        select(func.min(later.c.seq))
        .where(later.c.type == GATEWAY_RESPONSE, later.c.request_id == req.c.request_id)
        .scalar_subquery()
    )
    where = [req.c.type == GATEWAY_REQUEST, req.c.request_id.is_not(None), *_common_filters(req, q)]
    if q.status_class is not None:
        low, high = _status_range(q.status_class)
        where.append(resp.c.status.between(low, high))
    query = (
        select(
            req,
            resp.c.seq.label("resp_seq"),
            resp.c.status.label("resp_status"),
            resp.c.data.label("resp_data"),
        )
        .select_from(req.outerjoin(resp, and_(resp.c.seq == first_response)))
        .where(*where)
    )
    return await _page(session, query, order_by=req.c.seq, q=q)


# ----------------------------------------------------------------------------- report facts


_SCAN_KEY = ("day", "camera_id", "camera_type", "zip_code", "sector")
_ADD_SCANS_PG = (
    f"ON CONFLICT ({', '.join(_SCAN_KEY)}) DO UPDATE SET reads = {SCAN.name}.reads + excluded.reads"
)


async def add_scan_counts(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Add reads to the (day, camera, type, zip, sector) counters, in one statement (the rows'
    keys are distinct: `facts.apply` sums a delivery's reads per key). On PostgreSQL one
    statement for them all (`pg_insert_rows`), where an executemany runs one per camera."""
    if not rows:
        return
    if is_postgresql(session):
        await pg_insert_rows(await driver_connection(session), SCAN, rows, tail=_ADD_SCANS_PG)
        return
    stmt = insert_ignore(session, SCAN)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(_SCAN_KEY),
        set_={"reads": SCAN.c.reads + stmt.excluded.reads},
    )
    await session.execute(stmt, list(rows))


async def add_daily_counts(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    stmt = insert_ignore(session, DAILY)
    stmt = stmt.on_conflict_do_update(
        index_elements=["day", "metric"], set_={"n": DAILY.c.n + stmt.excluded.n}
    )
    await session.execute(stmt, list(rows))


async def alerts_by_id(session: AsyncSession, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), _CHUNK):
        query = select(ALERT).where(ALERT.c.alert_id.in_(ids[start : start + _CHUNK]))
        for row in (await session.execute(query)).mappings():
            found[str(row["alert_id"])] = dict(row)
    return found


async def insert_alerts(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(ALERT), list(rows))


async def update_alerts(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Rewrite the given alerts' rows (each row whole), in one executemany."""
    if not rows:
        return
    columns = [c.name for c in ALERT.columns if c.name != "alert_id"]
    stmt = (
        update(ALERT)
        .where(ALERT.c.alert_id == bindparam("b_alert_id"))
        .values({c: bindparam(f"b_{c}") for c in columns})
    )
    params = [{f"b_{k}": v for k, v in row.items()} for row in rows]
    # Core executemany (not the ORM's bulk update by primary key, which wants mapped classes).
    connection = await session.connection()
    await connection.execute(stmt, params)


ONCE_TABLES = {"manual_entry": MANUAL_ENTRY, "incident": INCIDENT, "sharing": SHARING, "hold": HOLD}


async def add_once(session: AsyncSession, table: str, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows keyed by their source's id; one already there is kept as it was."""
    if rows:
        stmt = insert_ignore(session, ONCE_TABLES[table]).on_conflict_do_nothing()
        await session.execute(stmt, list(rows))


async def add_policy_change(session: AsyncSession, row: dict[str, Any]) -> None:
    await session.execute(
        insert_ignore(session, POLICY_CHANGE).values(**row).on_conflict_do_nothing()
    )


async def put_camera(session: AsyncSession, row: dict[str, Any]) -> None:
    stmt = insert_ignore(session, CAMERA).values(**row)
    changes = {k: stmt.excluded[k] for k in row if k != "camera_id"}
    await session.execute(stmt.on_conflict_do_update(index_elements=["camera_id"], set_=changes))


async def put_hotlist(session: AsyncSession, row: dict[str, Any]) -> None:
    stmt = insert_ignore(session, HOTLIST).values(**row)
    changes = {k: stmt.excluded[k] for k in row if k != "hotlist_id"}
    await session.execute(stmt.on_conflict_do_update(index_elements=["hotlist_id"], set_=changes))


async def update_camera(session: AsyncSession, camera_id: str, changes: dict[str, Any]) -> None:
    await session.execute(update(CAMERA).where(CAMERA.c.camera_id == camera_id).values(**changes))


async def get_setting(session: AsyncSession, key: str) -> str | None:
    query = select(SETTING.c.value).where(SETTING.c.key == key)
    value = (await session.execute(query)).scalar_one_or_none()
    return str(value) if value is not None else None


async def put_setting(session: AsyncSession, *, key: str, value: str, at: datetime) -> None:
    stmt = insert_ignore(session, SETTING).values(key=key, value=value, reported_at=at)
    await session.execute(
        stmt.on_conflict_do_update(index_elements=["key"], set_={"value": value, "reported_at": at})
    )


async def settings_reported(session: AsyncSession) -> dict[str, str]:
    rows = (await session.execute(select(SETTING.c.key, SETTING.c.value))).all()
    return {str(r.key): str(r.value) for r in rows}


# ----------------------------------------------------------------------------- report reads


async def scan_totals(
    session: AsyncSession, *, first_day: date, end_day: date
) -> Sequence[Row[Any]]:
    """Reads per (day, camera type, zip, sector) over [first_day, end_day): the counters, never
    the reads, so the cost follows days and cameras, not the number of reads."""
    keys = (SCAN.c.day, SCAN.c.camera_type, SCAN.c.zip_code, SCAN.c.sector)
    query: Select[Any] = (
        select(*keys, func.sum(SCAN.c.reads).label("reads"))
        .where(SCAN.c.day >= first_day, SCAN.c.day < end_day)
        .group_by(*keys)
    )
    return (await session.execute(query)).all()


async def alerts_touched(
    session: AsyncSession, *, start: datetime, end: datetime
) -> Sequence[Row[Any]]:
    """Alerts matched, confirmed, found not to correlate or closed with an outcome in the range."""
    in_range = [
        and_(col >= start, col < end)
        for col in (
            ALERT.c.matched_at,
            ALERT.c.confirmed_at,
            ALERT.c.not_correlated_at,
            ALERT.c.outcome_at,
        )
    ]
    query = select(ALERT).where(or_(*in_range)).order_by(ALERT.c.matched_at, ALERT.c.alert_id)
    return (await session.execute(query)).all()


async def _rows_between(
    session: AsyncSession, table: Any, column: Any, start: datetime, end: datetime, order: Any
) -> Sequence[Row[Any]]:
    query = select(table).where(column >= start, column < end).order_by(column, order)
    return (await session.execute(query)).all()


async def manual_entries(
    session: AsyncSession, *, start: datetime, end: datetime
) -> Sequence[Row[Any]]:
    c = MANUAL_ENTRY.c
    return await _rows_between(session, MANUAL_ENTRY, c.entered_at, start, end, c.entry_id)


async def incidents(session: AsyncSession, *, start: datetime, end: datetime) -> Sequence[Row[Any]]:
    c = INCIDENT.c
    return await _rows_between(session, INCIDENT, c.reported_at, start, end, c.incident_id)


async def sharing_steps(
    session: AsyncSession, *, start: datetime, end: datetime
) -> Sequence[Row[Any]]:
    return await _rows_between(session, SHARING, SHARING.c.at, start, end, SHARING.c.event_id)


async def holds(session: AsyncSession, *, start: datetime, end: datetime) -> Sequence[Row[Any]]:
    return await _rows_between(session, HOLD, HOLD.c.created_at, start, end, HOLD.c.hold_id)


async def daily_counts(session: AsyncSession, *, first_day: date, end_day: date) -> dict[str, int]:
    query = (
        select(DAILY.c.metric, func.sum(DAILY.c.n).label("n"))
        .where(DAILY.c.day >= first_day, DAILY.c.day < end_day)
        .group_by(DAILY.c.metric)
    )
    return {str(r.metric): int(r.n) for r in (await session.execute(query)).all()}


async def policy_changes(
    session: AsyncSession,
    *,
    start: datetime | None,
    end: datetime | None,
    first_day: date | None = None,
    end_day: date | None = None,
) -> Sequence[Row[Any]]:
    """Changes recorded in [start, end) or taking effect in [first_day, end_day)."""
    c = POLICY_CHANGE.c
    query = select(POLICY_CHANGE).order_by(c.recorded_at, c.id)
    if start is not None and end is not None:
        recorded = and_(c.recorded_at >= start, c.recorded_at < end)
        if first_day is not None and end_day is not None:
            effective = and_(c.effective_on >= first_day, c.effective_on < end_day)
            query = query.where(or_(recorded, effective))
        else:
            query = query.where(recorded)
    return (await session.execute(query)).all()


async def policy_change(session: AsyncSession, change_id: str) -> Row[Any] | None:
    query = select(POLICY_CHANGE).where(POLICY_CHANGE.c.id == change_id)
    return (await session.execute(query)).one_or_none()


async def cameras(session: AsyncSession) -> Sequence[Row[Any]]:
    return (await session.execute(select(CAMERA).order_by(CAMERA.c.camera_id))).all()


async def hotlists(session: AsyncSession) -> Sequence[Row[Any]]:
    return (await session.execute(select(HOTLIST).order_by(HOTLIST.c.name))).all()


async def alerts_matched(session: AsyncSession, *, start: datetime, end: datetime) -> int:
    query = select(func.count()).where(ALERT.c.matched_at >= start, ALERT.c.matched_at < end)
    return int((await session.execute(query)).scalar_one())


async def reads_scanned(session: AsyncSession, *, first_day: date, end_day: date) -> int:
    query = select(func.coalesce(func.sum(SCAN.c.reads), 0)).where(
        SCAN.c.day >= first_day, SCAN.c.day < end_day
    )
    return int((await session.execute(query)).scalar_one())


# ----------------------------------------------------------------------------- reviews (344.6(a))
# Reads of the log by event type for the random sample, the findings and the equity report, and
# the tables of reviews, allegations and the population import.


async def iter_typed_entries(
    session: AsyncSession,
    types: Sequence[str],
    *,
    start: datetime | None,
    end: datetime,
    where: Sequence[ColumnElement[bool]] = (),
    page_size: int = _CHUNK,
) -> AsyncIterator[Sequence[Row[Any]]]:
    """Entries of these types that occurred in [start, end), in seq order, a page at a time."""
    last = 0
    while True:
        query = select(ENTRY).where(
            ENTRY.c.type.in_(types), ENTRY.c.occurred_at < end, ENTRY.c.seq > last, *where
        )
        if start is not None:
            query = query.where(ENTRY.c.occurred_at >= start)
        rows = (await session.execute(query.order_by(ENTRY.c.seq).limit(page_size))).all()
        if not rows:
            return
        yield rows
        if len(rows) < page_size:
            return
        last = rows[-1].seq


def has_purpose() -> ColumnElement[bool]:
    """The entry's data carries a purpose: a query of ALPR data (344.4(a))."""
    purpose = ENTRY.c.data["purpose"].as_string()
    return and_(purpose.is_not(None), purpose != "")


def refused() -> ColumnElement[bool]:
    return ENTRY.c.status >= 400


def for_requests(request_ids: Sequence[str]) -> ColumnElement[bool]:
    return ENTRY.c.request_id.in_(request_ids)


async def review_population(
    session: AsyncSession, *, start: datetime, end: datetime, kinds: dict[str, str]
) -> list[tuple[int, str]]:
    """(seq, type) of every entry of the 344.6(a) population in [start, end), in seq order:
    entries of the types in `kinds`, gateway requests only when they carry a purpose."""
    query = (
        select(ENTRY.c.seq, ENTRY.c.type)
        .where(
            ENTRY.c.type.in_(list(kinds)),
            ENTRY.c.occurred_at >= start,
            ENTRY.c.occurred_at < end,
            or_(ENTRY.c.type != GATEWAY_REQUEST, has_purpose()),
        )
        .order_by(ENTRY.c.seq)
    )
    return [(int(r.seq), str(r.type)) for r in (await session.execute(query)).all()]


async def entries_by_seq(session: AsyncSession, seqs: Sequence[int]) -> dict[int, Row[Any]]:
    found: dict[int, Row[Any]] = {}
    for start in range(0, len(seqs), _CHUNK):
        query = select(ENTRY).where(ENTRY.c.seq.in_(seqs[start : start + _CHUNK]))
        found.update({int(r.seq): r for r in (await session.execute(query)).all()})
    return found


async def sample_for_period(
    session: AsyncSession, *, start: datetime, end: datetime
) -> ReviewSample | None:
    query = select(ReviewSample).where(
        col(ReviewSample.period_start) == start, col(ReviewSample.period_end) == end
    )
    return (await session.execute(query)).scalar_one_or_none()


async def samples_starting_in(
    session: AsyncSession, *, start: datetime, end: datetime
) -> list[ReviewSample]:
    query = (
        select(ReviewSample)
        .where(col(ReviewSample.period_start) >= start, col(ReviewSample.period_start) < end)
        .order_by(col(ReviewSample.period_start), col(ReviewSample.id))
    )
    return list((await session.execute(query)).scalars())


async def list_samples(session: AsyncSession, *, page: PageParams) -> Paged[ReviewSample]:
    query = select(ReviewSample).order_by(
        col(ReviewSample.period_start).desc(), col(ReviewSample.id)
    )
    return await offset_page(session, query, page=page)


async def sample_items(session: AsyncSession, sample_ids: Sequence[str]) -> list[ReviewItem]:
    if not sample_ids:
        return []
    query = (
        select(ReviewItem)
        .where(col(ReviewItem.sample_id).in_(sample_ids))
        .order_by(col(ReviewItem.sample_id), col(ReviewItem.position))
    )
    return list((await session.execute(query)).scalars())


async def list_items(
    session: AsyncSession,
    *,
    sample_id: str,
    reviewer: str | None,
    status: str | None,
    page: PageParams,
) -> Paged[ReviewItem]:
    where: list[ColumnElement[bool]] = [col(ReviewItem.sample_id) == sample_id]
    if reviewer is not None:
        where.append(col(ReviewItem.reviewer) == reviewer)
    if status == "unassigned":
        where.append(col(ReviewItem.reviewer).is_(None))
    elif status == "assigned":
        where.extend([col(ReviewItem.reviewer).is_not(None), col(ReviewItem.finding).is_(None)])
    elif status == "reviewed":
        where.append(col(ReviewItem.finding).is_not(None))
    query = select(ReviewItem).where(*where).order_by(col(ReviewItem.position))
    return await offset_page(session, query, page=page)


async def get_review_item(
    session: AsyncSession, item_id: str, *, for_update: bool = False
) -> ReviewItem | None:
    query = select(ReviewItem).where(col(ReviewItem.id) == item_id)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def get_sample(session: AsyncSession, sample_id: str) -> ReviewSample | None:
    return await session.get(ReviewSample, sample_id)


async def get_allegation(
    session: AsyncSession, allegation_id: str, *, for_update: bool = False
) -> MisuseAllegation | None:
    query = select(MisuseAllegation).where(col(MisuseAllegation.id) == allegation_id)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def allegation_for_item(session: AsyncSession, item_id: str) -> MisuseAllegation | None:
    query = select(MisuseAllegation).where(col(MisuseAllegation.review_item_id) == item_id)
    return (await session.execute(query)).scalar_one_or_none()


async def list_allegations(
    session: AsyncSession, *, status: str | None, source: str | None, page: PageParams
) -> Paged[MisuseAllegation]:
    where: list[ColumnElement[bool]] = []
    if status is not None:
        where.append(col(MisuseAllegation.status) == status)
    if source is not None:
        where.append(col(MisuseAllegation.source) == source)
    query = (
        select(MisuseAllegation)
        .where(*where)
        .order_by(col(MisuseAllegation.reported_at).desc(), col(MisuseAllegation.id))
    )
    return await offset_page(session, query, page=page)


async def allegations_reported_in(
    session: AsyncSession, *, start: datetime, end: datetime
) -> list[MisuseAllegation]:
    query = select(MisuseAllegation).where(
        col(MisuseAllegation.reported_at) >= start, col(MisuseAllegation.reported_at) < end
    )
    return list((await session.execute(query)).scalars())


async def case_numbers_with_files(session: AsyncSession, *, end: datetime) -> set[str]:
    """Case numbers that have a hold or a case export logged before `end` (a case file)."""
    case = ENTRY.c.data["case_number"].as_string()
    query = select(case).where(
        ENTRY.c.type.in_(["ingest.hold_created", "ingest.export"]),
        ENTRY.c.occurred_at < end,
        case.is_not(None),
    )
    return {str(c) for c in (await session.execute(query)).scalars()}


async def import_by_sha(session: AsyncSession, sha256: str) -> PopulationImport | None:
    query = select(PopulationImport).where(col(PopulationImport.sha256) == sha256)
    return (await session.execute(query)).scalar_one_or_none()


async def latest_import(session: AsyncSession) -> PopulationImport | None:
    query = (
        select(PopulationImport)
        .order_by(col(PopulationImport.imported_at).desc(), col(PopulationImport.id).desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def import_areas(session: AsyncSession, import_id: str) -> list[PopulationArea]:
    query = (
        select(PopulationArea)
        .where(col(PopulationArea.import_id) == import_id)
        .order_by(col(PopulationArea.area_type), col(PopulationArea.area))
    )
    return list((await session.execute(query)).scalars())
