"""Requests for ALPR data from outside the department, their review, escalation to the Chief
with the three notices, decisions and outcomes (344.5, 344.6(b)4-6)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from alpr_common.contracts.sharing import RequestKind
from alpr_common.db import SessionDep
from alpr_common.pagination import PageDep
from alpr_sharing import escalation, requests
from alpr_sharing.api.common import errors
from alpr_sharing.auth import (
    ChiefOfPolice,
    OutcomeRecorder,
    RequestReader,
    RequestSubmitter,
    Reviewer,
    Withdrawer,
)
from alpr_sharing.deps import RequestIdPath, UpstreamDep
from alpr_sharing.errors import (
    AgencyNotFound,
    DependencyRefused,
    DependencyUnavailable,
    InvalidRequest,
    InvalidTransition,
    NoticeAlreadyRecorded,
    PolicyRefused,
    RequestNotFound,
)
from alpr_sharing.schemas import (
    Decision,
    NoticeCreate,
    NoticeRead,
    OutcomeCreate,
    OutcomeRead,
    Page,
    RequestCreate,
    RequestDetail,
    RequestRead,
    RequestStatus,
    Review,
    Withdrawal,
)

router = APIRouter(prefix="/v1", tags=["requests"])


@router.post(
    "/sharing-requests",
    response_model=RequestRead,
    status_code=201,
    responses={
        200: {"model": RequestRead, "description": "A repeat of a client_reference: the first"},
        **errors(AgencyNotFound, PolicyRefused, InvalidRequest, DependencyUnavailable),
    },
)
async def submit_request(
    data: RequestCreate,
    actor: RequestSubmitter,
    session: SessionDep,
    up: UpstreamDep,
    response: Response,
) -> RequestRead:
    """Submit a request (an agency's system, or the records officer for any kind); refusals name
    their clause; a request broader than a specific case goes to the Chief at once (344.5(d))."""
    request, created = await requests.submit(session, up=up, actor=actor, data=data)
    if not created:
        response.status_code = 200
    return request


@router.get("/sharing-requests", response_model=Page[RequestRead], responses=errors())
async def list_requests(
    actor: RequestReader,
    session: SessionDep,
    page: PageDep,
    status: RequestStatus | None = None,
    kind: RequestKind | None = None,
    escalated: bool | None = None,
) -> Page[RequestRead]:
    """Requests, newest first (an agency client sees only its own agency's)."""
    return await requests.list_requests(
        session,
        actor=actor,
        status=status,
        kind=kind,
        escalated=escalated,
        page=page,
    )


@router.get(
    "/sharing-requests/{request_id}",
    response_model=RequestDetail,
    responses=errors(RequestNotFound),
)
async def get_request(
    request_id: RequestIdPath, actor: RequestReader, session: SessionDep
) -> RequestDetail:
    """One request with its history, notices and outcomes."""
    return await requests.get(session, actor=actor, request_id=request_id)


@router.post(
    "/sharing-requests/{request_id}/reviews",
    response_model=RequestDetail,
    responses=errors(RequestNotFound, InvalidTransition, PolicyRefused),
)
async def review_request(
    request_id: RequestIdPath, data: Review, actor: Reviewer, session: SessionDep
) -> RequestDetail:
    """Take a received request under review."""
    return await requests.review(session, actor=actor, request_id=request_id, data=data)


@router.post(
    "/sharing-requests/{request_id}/notices",
    response_model=NoticeRead,
    status_code=201,
    responses=errors(RequestNotFound, InvalidTransition, NoticeAlreadyRecorded, InvalidRequest),
)
async def record_notice(
    request_id: RequestIdPath, data: NoticeCreate, actor: ChiefOfPolice, session: SessionDep
) -> NoticeRead:
    """344.5(d): record the report of an escalated request to the Office of Police Oversight,
    the Mayor or the Council (who, when, how, reference)."""
    request = await requests.load_for(session, actor=actor, request_id=request_id)
    agency = await requests.agency_of(session, request)
    return await escalation.record_notice(
        session, actor=actor, request=request, agency=agency, data=data
    )


@router.post(
    "/sharing-requests/{request_id}/decisions",
    response_model=RequestDetail,
    responses=errors(
        RequestNotFound,
        InvalidTransition,
        PolicyRefused,
        InvalidRequest,
        DependencyRefused,
        DependencyUnavailable,
    ),
)
async def decide_request(
    request_id: RequestIdPath,
    data: Decision,
    actor: Reviewer,
    session: SessionDep,
    up: UpstreamDep,
) -> RequestDetail:
    """Approve or deny (with a reason). An escalated request is the Chief's, after the three
    notices (344.5(d)); an approved preservation request places its hold at ingest."""
    return await requests.decide(session, up=up, actor=actor, request_id=request_id, data=data)


@router.post(
    "/sharing-requests/{request_id}/withdrawals",
    response_model=RequestDetail,
    responses=errors(RequestNotFound, InvalidTransition),
)
async def withdraw_request(
    request_id: RequestIdPath, data: Withdrawal, actor: Withdrawer, session: SessionDep
) -> RequestDetail:
    """Withdraw a request not yet fulfilled (the requester, or the records officer for it)."""
    return await requests.withdraw(session, actor=actor, request_id=request_id, data=data)


@router.post(
    "/sharing-requests/{request_id}/outcomes",
    response_model=OutcomeRead,
    status_code=201,
    responses=errors(RequestNotFound, InvalidTransition),
)
async def record_outcome(
    request_id: RequestIdPath, data: OutcomeCreate, actor: OutcomeRecorder, session: SessionDep
) -> OutcomeRead:
    """344.6(b)6: what the shared data led to (arrest, prosecution, a located person, none)."""
    return await requests.record_outcome(session, actor=actor, request_id=request_id, data=data)
