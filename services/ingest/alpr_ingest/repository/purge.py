"""Queries of the purge: the hold store copy, expiry and image references."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, literal, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from alpr_common.db import UTCDateTime, rowcount
from alpr_ingest.models import (
    HoldItem,
    ReadHold,
)
from alpr_ingest.repository.reads import ALIASES, HELD, READ_COLUMNS, READS

# pg_advisory_xact_lock's key for the purge: 344.4(d).
PURGE_LOCK_KEY = 3444


async def lock_purge(session: AsyncSession) -> None:
    """PostgreSQL: one purge at a time (every replica purges at start-up, the CronJob daily); the
    next one waits and then finds the days already gone. SQLite has one writer anyway."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PURGE_LOCK_KEY})


def _active_hold_read_ids() -> Any:
    return (
        select(col(HoldItem.read_id))
        .join(ReadHold, col(ReadHold.id) == HoldItem.hold_id)
        .where(col(ReadHold.status) == "active")
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
            _active_hold_read_ids().where(col(HoldItem.read_id).not_in(select(HELD.c.read_id)))
        )
    ]
    if not held:
        return 0
    c = READS.c
    source = select(*[c[name] for name in READ_COLUMNS], literal(now, UTCDateTime())).where(
        c.read_id.in_(held), c.captured_at >= lo, c.captured_at < hi
    )
    result = await session.execute(insert(HELD).from_select([*READ_COLUMNS, "copied_at"], source))
    return rowcount(result)


async def image_hashes_between(session: AsyncSession, *, lo: datetime, hi: datetime) -> set[str]:
    c = READS.c
    rows = await session.execute(
        select(c.image_sha256)
        .where(c.image_sha256.is_not(None), c.captured_at >= lo, c.captured_at < hi)
        .distinct()
    )
    return {h for (h,) in rows}


async def delete_aliases_before(session: AsyncSession, cutoff: datetime) -> None:
    """Read aliases go with their reads (344.4(d)); a handful per OpenALPR group."""
    await session.execute(delete(ALIASES).where(ALIASES.c.captured_at < cutoff))


async def delete_reads_before(session: AsyncSession, cutoff: datetime) -> int:
    """SQLite only: the embedded store has no partitions, so it deletes by capture day."""
    result = await session.execute(delete(READS).where(READS.c.captured_at < cutoff))
    return rowcount(result)


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
            select(col(ReadHold.id)).where(
                col(ReadHold.status) == "active",
                col(ReadHold.retention_until) < today,
            )
        )
    ]
    if ids:
        await session.execute(
            update(ReadHold).where(col(ReadHold.id).in_(ids)).values(status="expired")
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
    return rowcount(result), images


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


async def oldest_read_at(session: AsyncSession) -> datetime | None:
    """The capture time of the oldest live read (SQLite; PostgreSQL reads its partitions)."""
    return (await session.execute(select(func.min(READS.c.captured_at)))).scalar()
