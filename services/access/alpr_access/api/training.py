"""Annual training records (344.7)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from alpr_access import training
from alpr_access.auth import TrainingReader, TrainingRecorder
from alpr_access.errors import IncompleteTraining, MalformedBody, SelfRecordingRefused, UserNotFound
from alpr_access.schemas import ID_PATTERN, TrainingRecordCreate, TrainingRecordRead
from alpr_common.db import SessionDep
from alpr_common.errors import responses
from alpr_common.pagination import Page, PageDep

router = APIRouter(prefix="/v1")


@router.post(
    "/training-records",
    response_model=TrainingRecordRead,
    status_code=201,
    tags=["training"],
    responses=responses(MalformedBody, UserNotFound, SelfRecordingRefused, IncompleteTraining),
)
async def record_training(
    body: TrainingRecordCreate, principal: TrainingRecorder, session: SessionDep
) -> TrainingRecordRead:
    """Record a completed annual training covering all four 344.7(a) topics."""
    return await training.record_training(session, actor=principal, data=body)


@router.get("/training-records", response_model=Page[TrainingRecordRead], tags=["training"])
async def list_training(
    _reader: TrainingReader,
    session: SessionDep,
    page: PageDep,
    user_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
) -> Page[TrainingRecordRead]:
    """Training records, newest completion first."""
    return await training.list_training(session, user_id=user_id, page=page)
