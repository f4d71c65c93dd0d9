"""Audit routes: the transaction log and its transactions for auditors (344.6(c), 344.4(d)),
chain verification, checkpoints and the key that signs them.

The log holds query strings that may contain plate numbers, so reading it is itself a query of
ALPR data and needs the purpose headers (usually `X-ALPR-Purpose: audit_review`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from alpr_audit import service
from alpr_audit.auth import AuditReader
from alpr_audit.checkpoints import CheckpointStore
from alpr_audit.errors import CheckpointKeyUnavailable, LogEntryNotFound
from alpr_audit.schemas import (
    CheckpointKeyRead,
    CheckpointRead,
    LogEntryQuery,
    LogEntryRead,
    LogVerificationRead,
    Page,
    TransactionQuery,
    TransactionRead,
)
from alpr_audit.settings import AuditSettings
from alpr_common.db import SessionDep
from alpr_common.errors import Forbidden, Unauthorized, Unprocessable, responses
from alpr_common.purpose import PurposeDep

router = APIRouter(prefix="/v1", tags=["audit"])


async def get_settings(request: Request) -> AuditSettings:
    settings: AuditSettings = request.app.state.settings
    return settings


async def get_checkpoints(request: Request) -> CheckpointStore:
    store: CheckpointStore = request.app.state.checkpoints
    return store


SettingsDep = Annotated[AuditSettings, Depends(get_settings)]
CheckpointsDep = Annotated[CheckpointStore, Depends(get_checkpoints)]

_READ_ERRORS = responses(Unauthorized, Forbidden, Unprocessable)


@router.get("/log-entries", response_model=Page[LogEntryRead], responses=_READ_ERRORS)
async def list_log_entries(
    session: SessionDep,
    _reader: AuditReader,
    _purpose: PurposeDep,
    query: Annotated[LogEntryQuery, Query()],
) -> Page[LogEntryRead]:
    """Transaction log entries matching the filters, paged (344.4(d), 344.6(c))."""
    return await service.list_log_entries(session, query=query)


@router.get(
    "/log-entries/{seq}",
    response_model=LogEntryRead,
    responses=responses(Unauthorized, Forbidden, LogEntryNotFound, Unprocessable),
)
async def get_log_entry(
    session: SessionDep,
    _reader: AuditReader,
    _purpose: PurposeDep,
    seq: Annotated[int, Path(ge=1, le=2**63 - 1)],
) -> LogEntryRead:
    """One transaction log entry by its sequence number."""
    return await service.get_log_entry(session, seq=seq)


@router.get("/transactions", response_model=Page[TransactionRead], responses=_READ_ERRORS)
async def list_transactions(
    session: SessionDep,
    _reader: AuditReader,
    _purpose: PurposeDep,
    query: Annotated[TransactionQuery, Query()],
) -> Page[TransactionRead]:
    """Requests through the gateway joined with their outcomes, paged (344.6(c))."""
    return await service.list_transactions(session, query=query)


@router.get(
    "/log-verifications",
    response_model=LogVerificationRead,
    responses=responses(Unauthorized, Forbidden),
)
async def verify_log(
    session: SessionDep, _reader: AuditReader, settings: SettingsDep, store: CheckpointsDep
) -> LogVerificationRead:
    """Recompute the hash chain now and check it against the signed checkpoints (344.4(d))."""
    return await service.verify_log(
        session,
        store=store,
        checkpoint_count=settings.checkpoint_verify_count,
        page_size=settings.verify_page_size,
    )


@router.get(
    "/checkpoints",
    response_model=list[CheckpointRead],
    responses=responses(Unauthorized, Forbidden, CheckpointKeyUnavailable),
)
async def list_checkpoints(
    _reader: AuditReader,
    store: CheckpointsDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
) -> list[CheckpointRead]:
    """The newest signed checkpoints of the chain head, newest first, signatures checked."""
    return service.list_checkpoints(store=store, limit=limit)


@router.get(
    "/checkpoint-keys",
    response_model=list[CheckpointKeyRead],
    responses=responses(Unauthorized, Forbidden, CheckpointKeyUnavailable),
)
async def list_checkpoint_keys(
    _reader: AuditReader, store: CheckpointsDep
) -> list[CheckpointKeyRead]:
    """Public keys that verify checkpoint signatures, for offline checks by auditors."""
    return service.checkpoint_keys(store=store)
