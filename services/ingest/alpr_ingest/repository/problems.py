"""Queries of equipment-problem reports."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from alpr_common.pagination import Paged, PageParams, offset_page
from alpr_ingest.models import (
    EquipmentProblem,
)


async def list_problems(
    session: AsyncSession, *, status: str | None, page: PageParams
) -> Paged[EquipmentProblem]:
    conditions = [col(EquipmentProblem.status) == status] if status else []
    stmt = (
        select(EquipmentProblem)
        .where(*conditions)
        .order_by(col(EquipmentProblem.reported_at).desc(), EquipmentProblem.id)
    )
    return await offset_page(session, stmt, page=page)
