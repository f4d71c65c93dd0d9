"""The log of changes that affect privacy (344.6(b)8): recorded by Risk Management or the
Chief's office, and entered by audit itself when a service reports a changed setting."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from alpr_audit import policy_changes, report
from alpr_audit.auth import PolicyRecorder, ReportReader
from alpr_audit.errors import BadPeriod, PolicyChangeNotFound
from alpr_audit.schemas import PolicyChangeCreate, PolicyChangeQuery, PolicyChangeRead
from alpr_common.db import SessionDep
from alpr_common.errors import Forbidden, Unauthorized, Unprocessable, responses

router = APIRouter(prefix="/v1", tags=["policy-changes"])


@router.post(
    "/policy-changes",
    status_code=201,
    response_model=PolicyChangeRead,
    responses=responses(Unauthorized, Forbidden, Unprocessable),
)
async def record_policy_change(
    session: SessionDep, actor: PolicyRecorder, body: PolicyChangeCreate
) -> PolicyChangeRead:
    """Record a change of department policy that affects privacy (344.6(b)8)."""
    return await policy_changes.record_change(session, actor=actor, data=body)


@router.get(
    "/policy-changes",
    response_model=list[PolicyChangeRead],
    responses=responses(Unauthorized, Forbidden, BadPeriod),
)
async def list_policy_changes(
    session: SessionDep, _reader: ReportReader, query: Annotated[PolicyChangeQuery, Query()]
) -> list[PolicyChangeRead]:
    """Changes recorded or taking effect in a quarter or range of days; all without one."""
    p = None
    if query.quarter is not None or query.start is not None or query.end is not None:
        p = report.period(quarter=query.quarter, start=query.start, end=query.end)
    return await policy_changes.list_changes(session, p=p)


@router.get(
    "/policy-changes/{change_id}",
    response_model=PolicyChangeRead,
    responses=responses(Unauthorized, Forbidden, PolicyChangeNotFound),
)
async def get_policy_change(
    session: SessionDep,
    _reader: ReportReader,
    change_id: Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[0-9a-f]+$")],
) -> PolicyChangeRead:
    """One recorded policy change."""
    return await policy_changes.get_change(session, change_id=change_id)
