"""Reports of suspected misuse by an outside agency (344.4(b))."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from alpr_common.db import SessionDep
from alpr_common.pagination import PageDep
from alpr_sharing import misuse
from alpr_sharing.api.common import errors
from alpr_sharing.auth import MisuseReader, MisuseReporter
from alpr_sharing.deps import ReportIdPath
from alpr_sharing.errors import AgencyNotFound, MisuseReportNotFound
from alpr_sharing.schemas import ID_PATTERN, MisuseReportCreate, MisuseReportRead, Page

router = APIRouter(prefix="/v1", tags=["misuse"])


@router.post(
    "/misuse-reports",
    response_model=MisuseReportRead,
    status_code=201,
    responses=errors(AgencyNotFound),
)
async def report_misuse(
    data: MisuseReportCreate, actor: MisuseReporter, session: SessionDep
) -> MisuseReportRead:
    """Report suspected misuse of APD ALPR data by an outside agency, for the ATIU Lieutenant."""
    return await misuse.report(session, actor=actor, data=data)


@router.get("/misuse-reports", response_model=Page[MisuseReportRead], responses=errors())
async def list_misuse_reports(
    _reader: MisuseReader,
    session: SessionDep,
    page: PageDep,
    agency_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    status: Literal["open", "decided"] | None = None,
) -> Page[MisuseReportRead]:
    """Misuse reports, newest first."""
    return await misuse.list_reports(session, agency_id=agency_id, status=status, page=page)


@router.get(
    "/misuse-reports/{report_id}",
    response_model=MisuseReportRead,
    responses=errors(MisuseReportNotFound),
)
async def get_misuse_report(
    report_id: ReportIdPath, _reader: MisuseReader, session: SessionDep
) -> MisuseReportRead:
    """One misuse report and the decision it led to."""
    return await misuse.get(session, report_id=report_id)
