"""Queries of holds, their reads and exports."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from alpr_common.pagination import Paged, PageParams, offset_page
from alpr_ingest.models import (
    CaseExport,
    HoldItem,
    ReadHold,
)
from alpr_ingest.repository.reads import HELD, READ_COLUMNS


async def list_holds(
    session: AsyncSession,
    *,
    status: str | None,
    case_number: str | None,
    page: PageParams,
) -> Paged[ReadHold]:
    conditions: list[Any] = []
    if status:
        conditions.append(ReadHold.status == status)
    if case_number:
        conditions.append(ReadHold.case_number == case_number)
    stmt = (
        select(ReadHold).where(*conditions).order_by(col(ReadHold.created_at).desc(), ReadHold.id)
    )
    return await offset_page(session, stmt, page=page)


async def hold_counts(session: AsyncSession, hold_ids: Sequence[str]) -> dict[str, int]:
    if not hold_ids:
        return {}
    rows = await session.execute(
        select(col(HoldItem.hold_id), func.count())
        .where(col(HoldItem.hold_id).in_(list(hold_ids)))
        .group_by(HoldItem.hold_id)
    )
    return {hold_id: int(n) for hold_id, n in rows}


async def hold_read_ids(session: AsyncSession, hold_id: str) -> set[uuid.UUID]:
    rows = await session.execute(
        select(col(HoldItem.read_id)).where(col(HoldItem.hold_id) == hold_id)
    )
    return {r for (r,) in rows}


async def add_hold_items(
    session: AsyncSession, hold_id: str, read_rows: Sequence[Any], now: datetime
) -> None:
    """Reference the reads from the hold and copy them into the hold store (once per read)."""
    if not read_rows:
        return
    await session.execute(
        insert(HoldItem.__table__),
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
        .join(HoldItem.__table__, col(HoldItem.read_id) == HELD.c.read_id)
        .where(col(HoldItem.hold_id) == hold_id)
        .order_by(HELD.c.captured_at, HELD.c.read_id)
    )
    return list(rows)


async def list_exports(session: AsyncSession, hold_id: str) -> list[CaseExport]:
    rows = await session.execute(
        select(CaseExport)
        .where(col(CaseExport.hold_id) == hold_id)
        .order_by(col(CaseExport.exported_at), CaseExport.id)
    )
    return list(rows.scalars())
