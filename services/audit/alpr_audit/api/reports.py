"""The quarterly audit report of 344.6(b), for any quarter or range of days: JSON, a zip of CSV
tables, or a printable HTML page with charts. It holds counts and categories, no plate numbers,
so reading it needs no purpose headers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from alpr_audit import report, report_files
from alpr_audit.auth import ReportReader
from alpr_audit.errors import BadPeriod
from alpr_audit.schemas import QuarterlyReport, ReportQuery
from alpr_common.db import SessionDep
from alpr_common.errors import Forbidden, Unauthorized, responses

router = APIRouter(prefix="/v1", tags=["reports"])

_ERRORS = responses(Unauthorized, Forbidden, BadPeriod)


async def _report(session: SessionDep, query: ReportQuery) -> QuarterlyReport:
    p = report.period(quarter=query.quarter, start=query.start, end=query.end)
    return await report.quarterly_report(session, p=p)


def _filename(r: QuarterlyReport, suffix: str) -> str:
    p = r.period
    name = p.quarter or f"{p.start.date().isoformat()}_{p.end.date().isoformat()}"
    return f"alpr-audit-{name}{suffix}"


@router.get("/reports/quarterly", response_model=QuarterlyReport, responses=_ERRORS)
async def get_quarterly_report(
    session: SessionDep, _reader: ReportReader, query: Annotated[ReportQuery, Query()]
) -> QuarterlyReport:
    """The 13 items of 344.6(b) for a quarter (`?quarter=2026Q3`) or days (`?start=&end=`)."""
    return await _report(session, query)


@router.get(
    "/reports/quarterly/csv",
    response_class=Response,
    responses={
        **_ERRORS,
        200: {"content": {"application/zip": {}}, "description": "A zip of CSV tables"},
    },
)
async def get_quarterly_report_csv(
    session: SessionDep, _reader: ReportReader, query: Annotated[ReportQuery, Query()]
) -> Response:
    """The report as a zip: `summary.csv` and one CSV per breakdown table."""
    r = await _report(session, query)
    return Response(
        report_files.csv_zip(r),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{_filename(r, "-csv.zip")}"'},
    )


@router.get(
    "/reports/quarterly/html",
    response_class=HTMLResponse,
    responses={**_ERRORS, 200: {"content": {"text/html": {}}, "description": "Printable page"}},
)
async def get_quarterly_report_html(
    session: SessionDep, _reader: ReportReader, query: Annotated[ReportQuery, Query()]
) -> HTMLResponse:
    """The report as a printable page with its charts as inline SVG (no script, no network)."""
    r = await _report(session, query)
    return HTMLResponse(
        report_files.html_page(r),
        headers={
            # The page loads nothing: say so, so a browser refuses anything injected.
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
            "img-src data:",
        },
    )
