"""The record of every login attempt (344.4(d))."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from alpr_access import attempts
from alpr_access.api.params import FilterText
from alpr_access.auth import LoginAuditReader
from alpr_access.schemas import ID_PATTERN, Instant, LoginAttemptRead, Outcome
from alpr_common.db import SessionDep
from alpr_common.pagination import Page, PageDep

router = APIRouter(prefix="/v1")


@router.get("/login-attempts", response_model=Page[LoginAttemptRead], tags=["login attempts"])
async def list_login_attempts(
    _reader: LoginAuditReader,
    session: SessionDep,
    page: PageDep,
    username: FilterText = None,
    user_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    outcome: Outcome | None = None,
    method: FilterText = None,
    source_address: FilterText = None,
    since: Annotated[Instant | None, Query(description="From (inclusive), with offset")] = None,
    until: Annotated[Instant | None, Query(description="To (exclusive), with offset")] = None,
) -> Page[LoginAttemptRead]:
    """Every login attempt (344.4(d)), newest first, filtered."""
    filters = {
        "username": username.strip() if username else None,
        "user_id": user_id,
        "outcome": outcome.value if outcome else None,
        "method": method,
        "source_address": source_address,
        "since": since,
        "until": until,
    }
    return await attempts.list_login_attempts(session, filters=filters, page=page)
