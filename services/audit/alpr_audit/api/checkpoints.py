"""Signed checkpoints of the chain head and the keys that verify them (344.4(d))."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from alpr_audit import checkpoints
from alpr_audit.auth import AuditReader
from alpr_audit.deps import CheckpointsDep
from alpr_audit.errors import CheckpointKeyUnavailable
from alpr_audit.schemas import CheckpointKeyRead, CheckpointRead
from alpr_common.errors import Forbidden, Unauthorized, responses

router = APIRouter(prefix="/v1", tags=["audit"])


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
    return checkpoints.list_checkpoints(store=store, limit=limit)


@router.get(
    "/checkpoint-keys",
    response_model=list[CheckpointKeyRead],
    responses=responses(Unauthorized, Forbidden, CheckpointKeyUnavailable),
)
async def list_checkpoint_keys(
    _reader: AuditReader, store: CheckpointsDep
) -> list[CheckpointKeyRead]:
    """Public keys that verify checkpoint signatures, for offline checks by auditors."""
    return checkpoints.checkpoint_keys(store=store)
