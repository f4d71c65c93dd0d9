"""Queries of equipment-problem reports."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from alpr_ingest.models import (
    EquipmentProblem,
)


async def list_problems(
    session: AsyncSession, *, status: str | None, limit: int, offset: int
) -> tuple[list[EquipmentProblem], int]:
    conditions = [col(EquipmentProblem.status) == status] if status else []
    total = (
        await session.execute(select(func.count()).select_from(EquipmentProblem).where(*conditions))
    ).scalar_one()
    rows = await session.execute(
        select(EquipmentProblem)
        .where(*conditions)
        .order_by(col(EquipmentProblem.reported_at).desc(), EquipmentProblem.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows.scalars()), int(total)
