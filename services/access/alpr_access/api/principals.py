"""Internal (gateway): the status of a token's holder."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from alpr_access import principals
from alpr_access.auth import Service
from alpr_access.errors import PrincipalNotFound
from alpr_access.schemas import SUBJECT_PATTERN, PrincipalStatus
from alpr_common.db import SessionDep
from alpr_common.errors import responses

router = APIRouter(prefix="/v1")


@router.get(
    "/principals/{subject}/status",
    response_model=PrincipalStatus,
    tags=["principals"],
    responses=responses(PrincipalNotFound),
)
async def principal_status(
    subject: Annotated[str, Path(pattern=SUBJECT_PATTERN)], _caller: Service, session: SessionDep
) -> PrincipalStatus:
    """Internal (gateway): is this user or client active, with which roles and training."""
    return await principals.principal_status(session, subject=subject)
