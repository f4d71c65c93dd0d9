"""The log of changes that affect privacy (344.6(b)8): department policy changes recorded by
Risk Management or the Chief's office, beside the ones audit records by itself when a service
reports a changed privacy setting (facts.py)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from alpr_audit import repository
from alpr_audit.errors import PolicyChangeNotFound
from alpr_audit.report import policy_change_read
from alpr_audit.schemas import PolicyChangeCreate, PolicyChangeRead, ReportPeriod
from alpr_common.auth import Principal
from alpr_common.db import utcnow


async def record_change(
    session: AsyncSession, *, actor: Principal, data: PolicyChangeCreate
) -> PolicyChangeRead:
    row = {
        "id": uuid.uuid4().hex,
        "origin": "recorded",
        "recorded_at": utcnow(),
        "recorded_by": actor.subject[:200],
        "recorded_by_name": actor.name[:200] if actor.name else None,
        "effective_on": data.effective_on,
        "title": data.title,
        "summary": data.summary,
        "reference": data.reference,
        "setting": None,
        "old_value": None,
        "new_value": None,
    }
    await repository.add_policy_change(session, row)
    return PolicyChangeRead.model_validate(row)


async def list_changes(session: AsyncSession, *, p: ReportPeriod | None) -> list[PolicyChangeRead]:
    """Every change, or those recorded or taking effect in the period."""
    rows = await repository.policy_changes(
        session,
        start=p.start if p else None,
        end=p.end if p else None,
        first_day=p.start.date() if p else None,
        end_day=p.end.date() if p else None,
    )
    return [policy_change_read(r) for r in rows]


async def get_change(session: AsyncSession, *, change_id: str) -> PolicyChangeRead:
    row = await repository.policy_change(session, change_id)
    if row is None:
        raise PolicyChangeNotFound(f"no policy change {change_id!r}")
    return policy_change_read(row)
