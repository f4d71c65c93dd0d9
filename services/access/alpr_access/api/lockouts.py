"""Account lockouts and their early release by the CSO."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from alpr_access import attempts
from alpr_access.auth import ChiefSecurityOfficer
from alpr_access.errors import LockoutNotFound, MalformedBody, UserNotFound
from alpr_access.schemas import ID_PATTERN, LockoutRead, LockoutReleaseCreate
from alpr_common.db import SessionDep
from alpr_common.errors import responses
from alpr_common.pagination import Page, PageDep

router = APIRouter(prefix="/v1")


@router.get("/lockouts", response_model=Page[LockoutRead], tags=["lockouts"])
async def list_lockouts(
    _cso: ChiefSecurityOfficer,
    session: SessionDep,
    page: PageDep,
    user_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    active: bool | None = None,
) -> Page[LockoutRead]:
    """Lockouts, newest first, with how each ended (by time or by the CSO)."""
    return await attempts.list_lockouts(session, user_id=user_id, active=active, page=page)


@router.post(
    "/lockout-releases",
    response_model=LockoutRead,
    status_code=201,
    tags=["lockouts"],
    responses=responses(MalformedBody, UserNotFound, LockoutNotFound),
)
async def release_lockout(
    body: LockoutReleaseCreate, principal: ChiefSecurityOfficer, session: SessionDep
) -> LockoutRead:
    """End a person's active lockout early (CSO), with a reason."""
    return await attempts.release_lockout(
        session, actor=principal.subject, user_id=body.user_id, reason=body.reason
    )
