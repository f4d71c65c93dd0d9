"""The transaction log and its transactions, for auditors (344.6(c), 344.4(d)).

The log holds query strings that may contain plate numbers, so reading it is itself a query of
ALPR data and needs the purpose headers (usually `X-ALPR-Purpose: audit_review`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from alpr_audit import log
from alpr_audit.auth import AuditReader
from alpr_audit.errors import LogEntryNotFound
from alpr_audit.schemas import (
    LogEntryQuery,
    LogEntryRead,
    Page,
    TransactionQuery,
    TransactionRead,
)
from alpr_common.db import ReadSessionDep
from alpr_common.errors import Forbidden, Unauthorized, Unprocessable, responses
from alpr_common.purpose import PurposeDep

router = APIRouter(prefix="/v1", tags=["audit"])

_READ_ERRORS = responses(Unauthorized, Forbidden, Unprocessable)


@router.get("/log-entries", response_model=Page[LogEntryRead], responses=_READ_ERRORS)
async def list_log_entries(
    session: ReadSessionDep,
    _reader: AuditReader,
    _purpose: PurposeDep,
    query: Annotated[LogEntryQuery, Query()],
) -> Page[LogEntryRead]:
    """Transaction log entries matching the filters, paged (344.4(d), 344.6(c))."""
    return await log.list_log_entries(session, query=query)


@router.get(
    "/log-entries/{seq}",
    response_model=LogEntryRead,
    responses=responses(Unauthorized, Forbidden, LogEntryNotFound, Unprocessable),
)
async def get_log_entry(
    session: ReadSessionDep,
    _reader: AuditReader,
    _purpose: PurposeDep,
    seq: Annotated[int, Path(ge=1, le=2**63 - 1)],
) -> LogEntryRead:
    """One transaction log entry by its sequence number."""
    return await log.get_log_entry(session, seq=seq)


@router.get("/transactions", response_model=Page[TransactionRead], responses=_READ_ERRORS)
async def list_transactions(
    session: ReadSessionDep,
    _reader: AuditReader,
    _purpose: PurposeDep,
    query: Annotated[TransactionQuery, Query()],
) -> Page[TransactionRead]:
    """Requests through the gateway joined with their outcomes, paged (344.6(c))."""
    return await log.list_transactions(session, query=query)
