"""Every query of the audit service."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, insert, or_, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from alpr_audit.chain import GENESIS_HASH
from alpr_audit.models import (
    ChainHead,
    LogEntry,
    MisuseAllegation,
    PopulationArea,
    PopulationImport,
    ReviewItem,
    ReviewSample,
)
from alpr_audit.schemas import LogEntryQuery, TransactionQuery, _ListQuery
from alpr_common.db import rowcount, utcnow
from alpr_common.outbox import insert_ignore

ENTRY = LogEntry.__table__
HEAD = ChainHead.__table__
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
    found: set[str] = set()
    for start in range(0, len(event_ids), _CHUNK):
        query = select(ENTRY.c.event_id).where(
            ENTRY.c.event_id.in_(event_ids[start : start + _CHUNK])
        )
        found.update((await session.execute(query)).scalars())
    return found


async def insert_entries(session: AsyncSession, entries: Sequence[dict[str, Any]]) -> None:
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
) -> tuple[Sequence[Row[Any]], int]:
    total = (
        await session.execute(select(func.count()).select_from(query.order_by(None).subquery()))
    ).scalar_one()
    ordered = query.order_by(order_by.desc() if q.order == "desc" else order_by.asc())
    rows = (
        await session.execute(ordered.offset((q.page - 1) * q.page_size).limit(q.page_size))
    ).all()
    return rows, int(total)


async def list_entries(session: AsyncSession, q: LogEntryQuery) -> tuple[Sequence[Row[Any]], int]:
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


async def list_transactions(
    session: AsyncSession, q: TransactionQuery
) -> tuple[Sequence[Row[Any]], int]:
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


async def list_samples(
    session: AsyncSession, *, page: int, page_size: int
) -> tuple[list[ReviewSample], int]:
    total = (await session.execute(select(func.count()).select_from(ReviewSample))).scalar_one()
    query = (
        select(ReviewSample)
        .order_by(col(ReviewSample.period_start).desc(), col(ReviewSample.id))
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    return list((await session.execute(query)).scalars()), int(total)


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
    page: int,
    page_size: int,
) -> tuple[list[ReviewItem], int]:
    where: list[ColumnElement[bool]] = [col(ReviewItem.sample_id) == sample_id]
    if reviewer is not None:
        where.append(col(ReviewItem.reviewer) == reviewer)
    if status == "unassigned":
        where.append(col(ReviewItem.reviewer).is_(None))
    elif status == "assigned":
        where.extend([col(ReviewItem.reviewer).is_not(None), col(ReviewItem.finding).is_(None)])
    elif status == "reviewed":
        where.append(col(ReviewItem.finding).is_not(None))
    total = (
        await session.execute(select(func.count()).select_from(ReviewItem).where(*where))
    ).scalar_one()
    query = (
        select(ReviewItem)
        .where(*where)
        .order_by(col(ReviewItem.position))
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    return list((await session.execute(query)).scalars()), int(total)


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
    session: AsyncSession, *, status: str | None, source: str | None, page: int, page_size: int
) -> tuple[list[MisuseAllegation], int]:
    where: list[ColumnElement[bool]] = []
    if status is not None:
        where.append(col(MisuseAllegation.status) == status)
    if source is not None:
        where.append(col(MisuseAllegation.source) == source)
    total = (
        await session.execute(select(func.count()).select_from(MisuseAllegation).where(*where))
    ).scalar_one()
    query = (
        select(MisuseAllegation)
        .where(*where)
        .order_by(col(MisuseAllegation.reported_at).desc(), col(MisuseAllegation.id))
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    return list((await session.execute(query)).scalars()), int(total)


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
