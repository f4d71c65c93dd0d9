"""Camera-placement equity (344.3.2(c)): the population table and the equity report."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse

from alpr_audit import equity
from alpr_audit.auth import AuditReader, PopulationImporter
from alpr_audit.errors import (
    PopulationImportRace,
    PopulationTableInvalid,
    PopulationTableTooLarge,
)
from alpr_audit.review_schemas import (
    EquityReportRead,
    PeriodQuery,
    PopulationAreaRead,
    PopulationImportRead,
    ReviewSampleQuery,
)
from alpr_audit.schemas import Page
from alpr_common.db import SessionDep
from alpr_common.errors import Forbidden, Unauthorized, Unprocessable, responses
from alpr_common.pagination import list_page

router = APIRouter(prefix="/v1", tags=["equity"])

MAX_POPULATION_BYTES = 2_000_000
_ERRORS = (Unauthorized, Forbidden, Unprocessable)
_CSV_BODY = {
    "requestBody": {
        "required": True,
        "description": "CSV with a header row: area, population, optionally area_type (zip or "
        "sector), and any demographic columns (counts of residents)",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}


async def _body(request: Request) -> bytes:
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_POPULATION_BYTES:
            raise PopulationTableTooLarge(
                f"the population table exceeds {MAX_POPULATION_BYTES} bytes"
            )
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/population-imports",
    status_code=201,
    response_model=PopulationImportRead,
    responses=responses(
        *_ERRORS, PopulationTableInvalid, PopulationTableTooLarge, PopulationImportRace
    ),
    openapi_extra=_CSV_BODY,
)
async def import_population(
    request: Request, session: SessionDep, principal: PopulationImporter
) -> PopulationImportRead:
    """Import the department's population table by zip code and sector; it becomes current."""
    return await equity.import_population(session, actor=principal, body=await _body(request))


@router.get(
    "/population-areas",
    response_model=Page[PopulationAreaRead],
    responses=responses(*_ERRORS),
)
async def list_population_areas(
    session: SessionDep, _reader: AuditReader, query: Annotated[ReviewSampleQuery, Query()]
) -> Page[PopulationAreaRead]:
    """The current population table, by area type and area."""
    page = query.page_params()
    areas, more, total = list_page(await equity.current_population(session), page=page)
    return page.answer(areas, more, total)


@router.get("/equity-reports", response_model=EquityReportRead, responses=responses(*_ERRORS))
async def equity_report(
    session: SessionDep, _reader: AuditReader, period: Annotated[PeriodQuery, Query()]
) -> EquityReportRead:
    """Fixed cameras and hits per zip code and sector against population, with a disparity
    index per area and the placement reviews on record (344.3.2(c))."""
    start, end = period.bounds()
    return await equity.report(session, start=start, end=end)


@router.get(
    "/equity-reports/areas.csv",
    response_class=PlainTextResponse,
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
        **responses(*_ERRORS),
    },
)
async def equity_report_csv(
    session: SessionDep, _reader: AuditReader, period: Annotated[PeriodQuery, Query()]
) -> PlainTextResponse:
    """The equity report's per-area table as CSV."""
    start, end = period.bounds()
    report = await equity.report(session, start=start, end=end)
    return PlainTextResponse(equity.report_csv(report), media_type="text/csv")
