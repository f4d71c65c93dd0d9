"""The quarterly random audit (344.6(a)): samples, their items, assignments and findings."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from alpr_audit import reviews
from alpr_audit.auth import AuditReader, RiskManager
from alpr_audit.errors import (
    FindingAlreadyRecorded,
    NotTheReviewer,
    ReviewItemNotFound,
    ReviewSampleExists,
    ReviewSampleNotFound,
    SelfReviewRefused,
)
from alpr_audit.review_schemas import (
    PeriodQuery,
    ReviewAssignment,
    ReviewFindingCreate,
    ReviewItemQuery,
    ReviewItemRead,
    ReviewQuarterSummary,
    ReviewSampleCreate,
    ReviewSampleDetail,
    ReviewSampleQuery,
    ReviewSampleRead,
    ReviewSampleRedrawRead,
)
from alpr_audit.schemas import Page
from alpr_common.db import SessionDep
from alpr_common.errors import Forbidden, Unauthorized, Unprocessable, responses

router = APIRouter(prefix="/v1", tags=["audit reviews"])

ID_PATTERN = r"^[0-9a-f]{32}$"
SampleId = Annotated[str, Path(pattern=ID_PATTERN, description="Review sample id")]
ItemId = Annotated[str, Path(pattern=ID_PATTERN, description="Review item id")]
_ERRORS = (Unauthorized, Forbidden, Unprocessable)


@router.post(
    "/review-samples",
    status_code=201,
    response_model=ReviewSampleDetail,
    responses=responses(*_ERRORS, ReviewSampleExists),
)
async def create_review_sample(
    session: SessionDep, principal: RiskManager, data: ReviewSampleCreate
) -> ReviewSampleDetail:
    """Draw the period's seeded random sample of queries, exports and shares (344.6(a))."""
    return await reviews.create_sample(session, actor=principal, data=data)


@router.get("/review-samples", response_model=Page[ReviewSampleRead], responses=responses(*_ERRORS))
async def list_review_samples(
    session: SessionDep, _reader: AuditReader, query: Annotated[ReviewSampleQuery, Query()]
) -> Page[ReviewSampleRead]:
    """Random samples drawn, newest period first, with their seeds and population sizes."""
    return await reviews.list_samples(session, query=query)


@router.get(
    "/review-samples/{sample_id}",
    response_model=ReviewSampleRead,
    responses=responses(*_ERRORS, ReviewSampleNotFound),
)
async def get_review_sample(
    session: SessionDep, _reader: AuditReader, sample_id: SampleId
) -> ReviewSampleRead:
    """One random sample: period, seed, population size and digest, algorithm."""
    return await reviews.get_sample(session, sample_id=sample_id)


@router.get(
    "/review-samples/{sample_id}/redraw",
    response_model=ReviewSampleRedrawRead,
    responses=responses(*_ERRORS, ReviewSampleNotFound),
)
async def redraw_review_sample(
    session: SessionDep, _reader: AuditReader, sample_id: SampleId
) -> ReviewSampleRedrawRead:
    """Draw the sample again from the log and its recorded seed, and compare (344.6(a))."""
    return await reviews.redraw(session, sample_id=sample_id)


@router.get(
    "/review-samples/{sample_id}/items",
    response_model=Page[ReviewItemRead],
    responses=responses(*_ERRORS, ReviewSampleNotFound),
)
async def list_review_items(
    session: SessionDep,
    _reader: AuditReader,
    sample_id: SampleId,
    query: Annotated[ReviewItemQuery, Query()],
) -> Page[ReviewItemRead]:
    """The sample's items in draw order, with their reviewers and findings."""
    return await reviews.list_items(session, sample_id=sample_id, query=query)


@router.get(
    "/review-items/{item_id}",
    response_model=ReviewItemRead,
    responses=responses(*_ERRORS, ReviewItemNotFound),
)
async def get_review_item(
    session: SessionDep, _reader: AuditReader, item_id: ItemId
) -> ReviewItemRead:
    """One sampled item with its reviewer and finding."""
    return await reviews.get_item(session, item_id=item_id)


@router.put(
    "/review-items/{item_id}/assignment",
    response_model=ReviewItemRead,
    responses=responses(*_ERRORS, ReviewItemNotFound, SelfReviewRefused, FindingAlreadyRecorded),
)
async def assign_review_item(
    session: SessionDep, principal: RiskManager, item_id: ItemId, data: ReviewAssignment
) -> ReviewItemRead:
    """Assign an item to a reviewer; never to the person who made it (344.6(a))."""
    return await reviews.assign_item(session, actor=principal, item_id=item_id, data=data)


@router.post(
    "/review-items/{item_id}/finding",
    response_model=ReviewItemRead,
    responses=responses(*_ERRORS, ReviewItemNotFound, NotTheReviewer, FindingAlreadyRecorded),
)
async def record_review_finding(
    session: SessionDep, principal: RiskManager, item_id: ItemId, data: ReviewFindingCreate
) -> ReviewItemRead:
    """The assigned reviewer's finding: compliant or not, and whether a criminal predicate was
    present (344.6(a)); a non-compliant one may open a misuse allegation (344.4(a)7)."""
    return await reviews.record_finding(session, actor=principal, item_id=item_id, data=data)


@router.get("/review-summaries", response_model=ReviewQuarterSummary, responses=responses(*_ERRORS))
async def review_summary(
    session: SessionDep, _reader: AuditReader, period: Annotated[PeriodQuery, Query()]
) -> ReviewQuarterSummary:
    """The random audit of a period for the quarterly report (344.6(a))."""
    start, end = period.bounds()
    return await reviews.quarter_summary(session, start=start, end=end)
