"""Beyond the 13: usage findings from the transaction log (DESIGN 7; 344.4(a)4, 344.4(d))."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from alpr_audit import findings
from alpr_audit.auth import AuditReader
from alpr_audit.deps import CheckpointsDep, SettingsDep
from alpr_audit.review_schemas import FindingsQuarterSummary, PeriodQuery
from alpr_common.db import SessionDep
from alpr_common.errors import Forbidden, Unauthorized, Unprocessable, responses

router = APIRouter(prefix="/v1", tags=["audit findings"])


@router.get(
    "/usage-findings",
    response_model=FindingsQuarterSummary,
    responses=responses(Unauthorized, Forbidden, Unprocessable),
)
async def usage_findings(
    session: SessionDep,
    _reader: AuditReader,
    settings: SettingsDep,
    store: CheckpointsDep,
    period: Annotated[PeriodQuery, Query()],
) -> FindingsQuarterSummary:
    """First Amendment flags, volume outliers, off-hours use, repeated plate searches with no
    case linkage, refusals by reason, and the chain's verification, for a period."""
    start, end = period.bounds()
    return await findings.quarter_summary(
        session,
        start=start,
        end=end,
        rules=findings.FindingRules.from_settings(settings),
        store=store,
    )
