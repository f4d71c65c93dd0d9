"""Misuse allegations (344.4(a)7): reported by anyone with access, investigated under GO 902."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from alpr_audit import allegations
from alpr_audit.auth import AllegationReporter, AuditReader, RiskManager
from alpr_audit.errors import AllegationConflict, AllegationNotFound
from alpr_audit.review_schemas import (
    AllegationAssignment,
    AllegationCaseLink,
    AllegationCreate,
    AllegationFindingCreate,
    AllegationQuarterSummary,
    AllegationQuery,
    AllegationRead,
    PeriodQuery,
)
from alpr_audit.schemas import Page
from alpr_common.db import SessionDep
from alpr_common.errors import Forbidden, Unauthorized, Unprocessable, responses

router = APIRouter(prefix="/v1", tags=["misuse allegations"])

AllegationId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="Allegation id")]
_ERRORS = (Unauthorized, Forbidden, Unprocessable)


@router.post(
    "/misuse-allegations",
    status_code=201,
    response_model=AllegationRead,
    responses=responses(*_ERRORS),
)
async def report_misuse(
    session: SessionDep, principal: AllegationReporter, data: AllegationCreate
) -> AllegationRead:
    """Report an alleged misuse of ALPR operations, data or software (344.4(a)7)."""
    return await allegations.report(session, actor=principal, data=data)


@router.get(
    "/misuse-allegations", response_model=Page[AllegationRead], responses=responses(*_ERRORS)
)
async def list_misuse_allegations(
    session: SessionDep, _reader: AuditReader, query: Annotated[AllegationQuery, Query()]
) -> Page[AllegationRead]:
    """Misuse allegations, newest first."""
    return await allegations.list_allegations(session, query=query)


@router.get(
    "/misuse-allegations/{allegation_id}",
    response_model=AllegationRead,
    responses=responses(*_ERRORS, AllegationNotFound),
)
async def get_misuse_allegation(
    session: SessionDep, _reader: AuditReader, allegation_id: AllegationId
) -> AllegationRead:
    """One misuse allegation and where it stands."""
    return await allegations.get(session, allegation_id=allegation_id)


@router.put(
    "/misuse-allegations/{allegation_id}/assignment",
    response_model=AllegationRead,
    responses=responses(*_ERRORS, AllegationNotFound, AllegationConflict),
)
async def assign_misuse_allegation(
    session: SessionDep,
    principal: RiskManager,
    allegation_id: AllegationId,
    data: AllegationAssignment,
) -> AllegationRead:
    """Assign the allegation to its investigator; never to the person it is about."""
    return await allegations.assign(
        session, actor=principal, allegation_id=allegation_id, data=data
    )


@router.put(
    "/misuse-allegations/{allegation_id}/go902-case",
    response_model=AllegationRead,
    responses=responses(*_ERRORS, AllegationNotFound, AllegationConflict),
)
async def link_go902_case(
    session: SessionDep,
    principal: RiskManager,
    allegation_id: AllegationId,
    data: AllegationCaseLink,
) -> AllegationRead:
    """Link the GO 902 administrative investigation that handles the allegation."""
    return await allegations.link_case(
        session, actor=principal, allegation_id=allegation_id, data=data
    )


@router.post(
    "/misuse-allegations/{allegation_id}/finding",
    response_model=AllegationRead,
    responses=responses(*_ERRORS, AllegationNotFound, AllegationConflict),
)
async def record_allegation_finding(
    session: SessionDep,
    principal: RiskManager,
    allegation_id: AllegationId,
    data: AllegationFindingCreate,
) -> AllegationRead:
    """Close the allegation with the GO 902 finding and any access consequence."""
    return await allegations.record_finding(
        session, actor=principal, allegation_id=allegation_id, data=data
    )


@router.get(
    "/misuse-allegation-summaries",
    response_model=AllegationQuarterSummary,
    responses=responses(*_ERRORS),
)
async def misuse_allegation_summary(
    session: SessionDep, _reader: AuditReader, period: Annotated[PeriodQuery, Query()]
) -> AllegationQuarterSummary:
    """Allegations reported in a period and where they stand, for the quarterly report."""
    start, end = period.bounds()
    return await allegations.quarter_summary(session, start=start, end=end)
