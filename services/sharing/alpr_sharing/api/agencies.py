"""Outside agencies and the ATIU Lieutenant's decisions about them (344.4(b), 344.5(a))."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter

from alpr_common.contracts.sharing import AgencyKind
from alpr_common.db import SessionDep
from alpr_common.pagination import PageDep
from alpr_sharing import agencies, misuse
from alpr_sharing.api.common import errors
from alpr_sharing.auth import AgencyReader, AgencyRegistrar, AtiuLieutenant
from alpr_sharing.deps import AgencyIdPath
from alpr_sharing.errors import AgencyNotFound, InvalidTransition, MisuseReportNotFound, OriTaken
from alpr_sharing.schemas import (
    AgencyCreate,
    AgencyDecisionResult,
    AgencyRead,
    AgencyStatusChangeRead,
    AgencyStatusDecision,
    AgencyUpdate,
    Page,
)

router = APIRouter(prefix="/v1", tags=["agencies"])


@router.post("/agencies", response_model=AgencyRead, status_code=201, responses=errors(OriTaken))
async def create_agency(
    data: AgencyCreate, actor: AgencyRegistrar, session: SessionDep
) -> AgencyRead:
    """Register an outside agency (its system then gets an access client bound to its id)."""
    return await agencies.create(session, actor=actor, data=data)


@router.get("/agencies", response_model=Page[AgencyRead], responses=errors())
async def list_agencies(
    actor: AgencyReader,
    session: SessionDep,
    page: PageDep,
    status: Literal["active", "suspended"] | None = None,
    kind: AgencyKind | None = None,
) -> Page[AgencyRead]:
    """Agencies by name (an agency client sees only its own)."""
    return await agencies.list_agencies(session, actor=actor, status=status, kind=kind, page=page)


@router.get("/agencies/{agency_id}", response_model=AgencyRead, responses=errors(AgencyNotFound))
async def get_agency(
    agency_id: AgencyIdPath, actor: AgencyReader, session: SessionDep
) -> AgencyRead:
    """One agency."""
    return await agencies.get(session, actor=actor, agency_id=agency_id)


@router.patch(
    "/agencies/{agency_id}",
    response_model=AgencyRead,
    responses=errors(AgencyNotFound, OriTaken),
)
async def update_agency(
    agency_id: AgencyIdPath, data: AgencyUpdate, actor: AgencyRegistrar, session: SessionDep
) -> AgencyRead:
    """Correct an agency's details (its status is the ATIU Lieutenant's decision)."""
    return await agencies.update(session, actor=actor, agency_id=agency_id, data=data)


@router.get(
    "/agencies/{agency_id}/status-changes",
    response_model=list[AgencyStatusChangeRead],
    responses=errors(AgencyNotFound),
)
async def agency_status_history(
    agency_id: AgencyIdPath, actor: AgencyReader, session: SessionDep
) -> list[AgencyStatusChangeRead]:
    """The agency's status history: registration, and every continue/suspend/reinstate."""
    return await agencies.history(session, actor=actor, agency_id=agency_id)


@router.post(
    "/agencies/{agency_id}/status-decisions",
    response_model=AgencyDecisionResult,
    status_code=201,
    responses=errors(AgencyNotFound, InvalidTransition, MisuseReportNotFound),
)
async def decide_agency_status(
    agency_id: AgencyIdPath,
    data: AgencyStatusDecision,
    actor: AtiuLieutenant,
    session: SessionDep,
) -> AgencyDecisionResult:
    """344.4(b): continue, suspend or reinstate sharing with an agency, with the reason."""
    return await misuse.decide(session, actor=actor, agency_id=agency_id, data=data)
