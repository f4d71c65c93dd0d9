"""Queries of equipment-problem reports."""

from __future__ import annotations

from sqlalchemy import (
    func,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from alpr_ingest.models import (
    EquipmentProblem,
)


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
