"""Every query of the hotlist service."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Select, and_, bindparam, func, or_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from alpr_hotlist.models import (
    Alert,
    AlertHit,
    AlertStep,
    BackMatchJob,
    Counter,
    Hotlist,
    HotlistEntry,
    HotlistImport,
    InboxMessage,
    WrongVehicleIncident,
)

M = TypeVar("M")

INDEX_COUNTER = "index"
ALERT_COUNTER = "alert"
# SQLite allows 32,766 bound parameters; stay well under it on both backends.
CHUNK = 5_000


def _dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "sqlite"


async def add(session: AsyncSession, obj: M) -> M:
    session.add(obj)
    await session.flush()
    return obj


# ---------------------------------------------------------------------------- counters


async def bump_counter(session: AsyncSession, name: str, by: int = 1) -> int:
    """Increment a counter and return its new value; the row stays locked until commit."""
    result = await session.execute(
        update(Counter)
        .where(col(Counter.name) == name)
        .values(value=col(Counter.value) + by)
        .returning(col(Counter.value))
    )
    return int(result.scalar_one())


_COUNTER = Counter.__table__
# Read before every read batch (the index version): a Core statement built once costs half of
# an ORM select built per call.
_READ_COUNTER = select(_COUNTER.c.value).where(_COUNTER.c.name == bindparam("name"))


async def read_counter(session: AsyncSession, name: str) -> int:
    return int((await session.execute(_READ_COUNTER, {"name": name})).scalar_one())


async def lock_counter(session: AsyncSession, name: str) -> int:
    """Take the counter's row lock (PostgreSQL) for the rest of the transaction; SQLite's
    writers are serialised by BEGIN IMMEDIATE already."""
    stmt = select(Counter.value).where(Counter.name == name)
    if _dialect(session) == "postgresql":
        stmt = stmt.with_for_update()
    return int((await session.execute(stmt)).scalar_one())


# ---------------------------------------------------------------------------- lists


async def get_hotlist(
    session: AsyncSession, hotlist_id: str, *, for_update: bool = False
) -> Hotlist | None:
    stmt = select(Hotlist).where(Hotlist.id == hotlist_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_hotlist_by_name(session: AsyncSession, name: str) -> Hotlist | None:
    # SQLite's lower() folds ASCII only: compare the exact name too.
    stmt = select(Hotlist).where(
        or_(col(Hotlist.name) == name, func.lower(Hotlist.name) == name.lower())
    )
    return (await session.execute(stmt.limit(1))).scalar_one_or_none()


def hotlists_stmt(*, status: str | None, source: str | None) -> Select[Any]:
    stmt = select(Hotlist)
    if status is not None:
        stmt = stmt.where(Hotlist.status == status)
    if source is not None:
        stmt = stmt.where(Hotlist.source == source)
    return stmt.order_by(col(Hotlist.created_at).desc(), Hotlist.id)


async def entry_counts(
    session: AsyncSession, hotlist_ids: Sequence[str]
) -> dict[tuple[str, str], int]:
    if not hotlist_ids:
        return {}
    stmt = (
        select(HotlistEntry.hotlist_id, HotlistEntry.status, func.count())
        .where(
            col(HotlistEntry.hotlist_id).in_(hotlist_ids),
            col(HotlistEntry.status).in_(("active", "held")),
        )
        .group_by(HotlistEntry.hotlist_id, HotlistEntry.status)
    )
    return {(h, s): int(n) for h, s, n in (await session.execute(stmt)).all()}


# ---------------------------------------------------------------------------- entries


async def get_entry(
    session: AsyncSession, entry_id: int, *, for_update: bool = False
) -> HotlistEntry | None:
    stmt = select(HotlistEntry).where(HotlistEntry.id == entry_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_entries(session: AsyncSession, entry_ids: Iterable[int]) -> dict[int, HotlistEntry]:
    ids = list(set(entry_ids))
    out: dict[int, HotlistEntry] = {}
    for i in range(0, len(ids), CHUNK):
        stmt = select(HotlistEntry).where(col(HotlistEntry.id).in_(ids[i : i + CHUNK]))
        for entry in (await session.execute(stmt)).scalars():
            assert entry.id is not None
            out[entry.id] = entry
    return out


def entries_stmt(
    *,
    hotlist_id: str | None = None,
    plate: str | None = None,
    status: str | None = None,
    entry_type: str | None = None,
    origin: str | None = None,
    import_id: str | None = None,
) -> Select[Any]:
    stmt = select(HotlistEntry)
    conditions = [
        (HotlistEntry.hotlist_id, hotlist_id),
        (HotlistEntry.plate, plate),
        (HotlistEntry.status, status),
        (HotlistEntry.entry_type, entry_type),
        (HotlistEntry.origin, origin),
        (HotlistEntry.import_id, import_id),
    ]
    for column, value in conditions:
        if value is not None:
            stmt = stmt.where(column == value)
    return stmt.order_by(col(HotlistEntry.id).desc())


async def import_entry_fingerprints(session: AsyncSession, hotlist_id: str) -> dict[str, list[int]]:
    """The active imported entries of a list, by fingerprint (the diff an import makes)."""
    stmt = select(HotlistEntry.fingerprint, HotlistEntry.id).where(
        HotlistEntry.hotlist_id == hotlist_id,
        HotlistEntry.status == "active",
        HotlistEntry.origin == "import",
    )
    out: dict[str, list[int]] = {}
    for fingerprint, entry_id in (await session.execute(stmt)).all():
        out.setdefault(fingerprint, []).append(int(entry_id))
    return out


async def held_import_entry_ids(session: AsyncSession, hotlist_id: str) -> list[int]:
    stmt = select(HotlistEntry.id).where(
        HotlistEntry.hotlist_id == hotlist_id,
        HotlistEntry.status == "held",
        HotlistEntry.origin == "import",
    )
    return [int(i) for i in (await session.execute(stmt)).scalars()]


async def active_entry_ids(session: AsyncSession, hotlist_id: str) -> list[int]:
    stmt = select(HotlistEntry.id).where(
        HotlistEntry.hotlist_id == hotlist_id,
        col(HotlistEntry.status).in_(("active", "held")),
    )
    return [int(i) for i in (await session.execute(stmt)).scalars()]


async def insert_entries(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    table = HotlistEntry.__table__
    for i in range(0, len(rows), CHUNK // 10):
        await session.execute(table.insert(), list(rows[i : i + CHUNK // 10]))


async def update_entries(session: AsyncSession, ids: Sequence[int], values: dict[str, Any]) -> None:
    for i in range(0, len(ids), CHUNK):
        await session.execute(
            update(HotlistEntry)
            .where(col(HotlistEntry.id).in_(ids[i : i + CHUNK]))
            .values(**values)
        )


async def import_entries(
    session: AsyncSession, import_id: str, *, status: str, now: datetime
) -> list[tuple[int, str]]:
    """(id, plate) of an import's entries in `status` that have not expired at `now`."""
    stmt = select(HotlistEntry.id, HotlistEntry.plate).where(
        HotlistEntry.import_id == import_id,
        HotlistEntry.status == status,
        or_(col(HotlistEntry.expires_at).is_(None), col(HotlistEntry.expires_at) > now),
    )
    return [(int(i), p) for i, p in (await session.execute(stmt)).all()]


_INDEX_COLUMNS = (
    col(HotlistEntry.id),
    col(HotlistEntry.plate),
    col(HotlistEntry.region),
    col(HotlistEntry.expires_at),
)


def _matching(now: datetime) -> Any:
    return and_(
        col(HotlistEntry.status) == "active",
        col(Hotlist.status) == "active",
        or_(col(HotlistEntry.expires_at).is_(None), col(HotlistEntry.expires_at) > now),
    )


async def stream_matching_entries(
    session: AsyncSession, now: datetime, *, chunk: int = 50_000
) -> AsyncIterator[Sequence[Any]]:
    """Every entry that can match at `now`, as (id, plate, region, expires_at), in chunks."""
    stmt = (
        select(*_INDEX_COLUMNS)
        .join(Hotlist, col(Hotlist.id) == HotlistEntry.hotlist_id)
        .where(_matching(now))
        .execution_options(yield_per=chunk)
    )
    result = await session.stream(stmt)
    async for part in result.partitions(chunk):
        yield part


async def changed_entries(
    session: AsyncSession, after: int, upto: int, now: datetime
) -> list[tuple[int, str, str | None, datetime | None, bool]]:
    """Entries changed in versions (after, upto]: (id, plate, region, expires_at, matching)."""
    matching = _matching(now)
    stmt = (
        select(*_INDEX_COLUMNS)
        .add_columns(matching)
        .join(Hotlist, col(Hotlist.id) == HotlistEntry.hotlist_id)
        .where(col(HotlistEntry.index_version) > after, col(HotlistEntry.index_version) <= upto)
    )
    return [(int(r[0]), r[1], r[2], r[3], bool(r[4])) for r in (await session.execute(stmt)).all()]


async def count_changed_entries(session: AsyncSession, after: int, upto: int) -> int:
    stmt = select(func.count()).where(
        HotlistEntry.index_version > after,
        HotlistEntry.index_version <= upto,
    )
    return int((await session.execute(stmt)).scalar_one())


# ---------------------------------------------------------------------------- imports


async def get_import(session: AsyncSession, import_id: str) -> HotlistImport | None:
    stmt = select(HotlistImport).where(HotlistImport.id == import_id)
    return (await session.execute(stmt)).scalar_one_or_none()


def imports_stmt(*, hotlist_id: str | None) -> Select[Any]:
    stmt = select(HotlistImport)
    if hotlist_id is not None:
        stmt = stmt.where(HotlistImport.hotlist_id == hotlist_id)
    return stmt.order_by(col(HotlistImport.created_at).desc(), HotlistImport.id)


# ---------------------------------------------------------------------------- alerts


# Statements run once or twice per hit, built once (with their parameters bound per call).
_HIT_EXISTS = select(AlertHit.alert_id).where(
    AlertHit.read_id == bindparam("read_id"),
    AlertHit.entry_id == bindparam("entry_id"),
)
_OPEN_ALERT = (
    select(Alert)
    .where(
        Alert.entry_id == bindparam("entry_id"),
        Alert.camera_id == bindparam("camera_id"),
        Alert.last_read_at >= bindparam("earliest"),
        Alert.first_read_at <= bindparam("latest"),
    )
    .order_by(col(Alert.seq).desc())
    .limit(1)
)


async def hit_exists(session: AsyncSession, read_id: str, entry_id: int) -> bool:
    params = {"read_id": read_id, "entry_id": entry_id}
    return (await session.execute(_HIT_EXISTS, params)).first() is not None


async def open_alert(
    session: AsyncSession,
    *,
    entry_id: int,
    camera_id: str,
    captured_at: datetime,
    window: timedelta,
) -> Alert | None:
    """The alert a hit joins: same entry and camera, within the window of its reads."""
    params = {
        "entry_id": entry_id,
        "camera_id": camera_id,
        "earliest": captured_at - window,
        "latest": captured_at + window,
    }
    return (await session.execute(_OPEN_ALERT, params)).scalar_one_or_none()


async def get_alert(
    session: AsyncSession, alert_id: str, *, for_update: bool = False
) -> Alert | None:
    stmt = select(Alert).where(Alert.id == alert_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


def alerts_stmt(
    *,
    status: str | None = None,
    hotlist_id: str | None = None,
    entry_id: int | None = None,
    camera_id: str | None = None,
    plate: str | None = None,
    match_type: str | None = None,
    origin: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after_seq: int | None = None,
) -> Select[Any]:
    stmt = select(Alert)
    for column, value in (
        (Alert.status, status),
        (Alert.hotlist_id, hotlist_id),
        (Alert.entry_id, entry_id),
        (Alert.camera_id, camera_id),
        (Alert.plate, plate),
        (Alert.match_type, match_type),
        (Alert.origin, origin),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if since is not None:
        stmt = stmt.where(Alert.created_at >= since)
    if until is not None:
        stmt = stmt.where(Alert.created_at < until)
    if after_seq is not None:
        stmt = stmt.where(Alert.seq > after_seq)
        return stmt.order_by(col(Alert.seq))
    return stmt.order_by(col(Alert.seq).desc())


async def alerts_after(session: AsyncSession, seq: int, limit: int) -> list[Alert]:
    stmt = select(Alert).where(Alert.seq > seq).order_by(col(Alert.seq)).limit(limit)
    return list((await session.execute(stmt)).scalars())


async def last_alert_seq(session: AsyncSession) -> int:
    return int((await session.execute(select(func.coalesce(func.max(Alert.seq), 0)))).scalar_one())


async def hits_of(session: AsyncSession, alert_id: str) -> list[AlertHit]:
    stmt = (
        select(AlertHit)
        .where(AlertHit.alert_id == alert_id)
        .order_by(col(AlertHit.captured_at), AlertHit.read_id)
    )
    return list((await session.execute(stmt)).scalars())


async def steps_of(session: AsyncSession, alert_id: str) -> list[AlertStep]:
    stmt = (
        select(AlertStep)
        .where(AlertStep.alert_id == alert_id)
        .order_by(col(AlertStep.at), AlertStep.id)
    )
    return list((await session.execute(stmt)).scalars())


# ---------------------------------------------------------------------------- back-match jobs


async def due_jobs(session: AsyncSession, now: datetime, limit: int) -> list[BackMatchJob]:
    stmt = (
        select(BackMatchJob)
        .where(col(BackMatchJob.done_at).is_(None), BackMatchJob.next_attempt_at <= now)
        .order_by(col(BackMatchJob.next_attempt_at))
        .limit(limit)
    )
    if _dialect(session) == "postgresql":
        # Replicas share the jobs: each takes its own.
        stmt = stmt.with_for_update(skip_locked=True)
    return list((await session.execute(stmt)).scalars())


async def pending_job_count(session: AsyncSession) -> int:
    stmt = select(func.count()).where(col(BackMatchJob.done_at).is_(None))
    return int((await session.execute(stmt)).scalar_one())


# ---------------------------------------------------------------------------- incidents, inbox


async def get_incident(session: AsyncSession, incident_id: str) -> WrongVehicleIncident | None:
    stmt = select(WrongVehicleIncident).where(WrongVehicleIncident.id == incident_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def incident_for_alert(session: AsyncSession, alert_id: str) -> WrongVehicleIncident | None:
    stmt = select(WrongVehicleIncident).where(WrongVehicleIncident.alert_id == alert_id)
    return (await session.execute(stmt)).scalar_one_or_none()


def incidents_stmt(
    *,
    reporter: str | None,
    late: bool | None,
    cause: str | None,
    since: datetime | None,
    until: datetime | None,
) -> Select[Any]:
    t = WrongVehicleIncident
    stmt = select(t)
    if reporter is not None:
        stmt = stmt.where(t.reported_by == reporter)
    if late is not None:
        stmt = stmt.where(t.late == late)
    if cause is not None:
        stmt = stmt.where(t.cause == cause)
    if since is not None:
        stmt = stmt.where(t.reported_at >= since)
    if until is not None:
        stmt = stmt.where(t.reported_at < until)
    return stmt.order_by(col(t.reported_at).desc(), t.id)


def inbox_filter(roles: Iterable[str], subject: str) -> Any:
    """Messages for any of the caller's roles, addressed to the role or to the caller."""
    return and_(
        col(InboxMessage.recipient_role).in_(list(roles)),
        or_(
            col(InboxMessage.recipient_subject).is_(None),
            col(InboxMessage.recipient_subject) == subject,
        ),
    )


def inbox_stmt(*, roles: Iterable[str], subject: str, unacknowledged: bool | None) -> Select[Any]:
    stmt = select(InboxMessage).where(inbox_filter(roles, subject))
    if unacknowledged is True:
        stmt = stmt.where(col(InboxMessage.acknowledged_at).is_(None))
    elif unacknowledged is False:
        stmt = stmt.where(col(InboxMessage.acknowledged_at).is_not(None))
    return stmt.order_by(col(InboxMessage.created_at).desc(), InboxMessage.id)


async def get_message(
    session: AsyncSession, message_id: str, *, roles: Iterable[str], subject: str
) -> InboxMessage | None:
    stmt = select(InboxMessage).where(
        InboxMessage.id == message_id,
        inbox_filter(roles, subject),
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def alert_counts_by_status(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(Alert.status, func.count()).group_by(col(Alert.status)))
    return {status: int(n) for status, n in rows}
